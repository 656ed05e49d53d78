"""A Sphinx directive that shows a command's ``--help`` as the parser
prints it, so that the command-line docs cannot drift from the options::

    .. sklearn-set-help:: train

renders ``sklearn-set train --help`` (``.. sklearn-set-help::`` without a
command, the top-level help). The text is wrapped at :data:`WIDTH` columns,
whatever the terminal of the build.
"""

import functools

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = 79


def command_help(command=None, width=WIDTH):
    """The ``--help`` text of ``sklearn-set COMMAND`` (None: of
    ``sklearn-set``), wrapped at ``width`` columns."""
    from sklearn_set.cli import build_parser

    parser = build_parser()
    if command is not None:
        parser = parser.commands[command]
    parser.formatter_class = functools.partial(parser.formatter_class, width=width)
    return parser.format_help()


class CommandHelp(Directive):
    optional_arguments = 1

    def run(self):
        command = self.arguments[0] if self.arguments else None
        text = command_help(command)
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("sklearn-set-help", CommandHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
