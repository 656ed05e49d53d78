"""The ``sklearn-set`` command line (also ``python -m sklearn_set``).

Commands, one module each:

``sweep`` (:mod:`.sweep`)
    Cross-validated sweep over sparsity, the fitted sparsity curve, a table
    and a summary on screen, and ``fits.csv``, ``results.csv``,
    ``curve.json`` and ``sparsity_curve.png`` on disk.
``train`` (:mod:`.train`)
    Fit one model and save it (skops, or a pickle).
``predict`` (:mod:`.predict`)
    Predict the rows of a CSV file with a saved model.
``export`` (:mod:`.export`)
    Write a saved model as C source for small devices.

This module parses the arguments and dispatches; it imports neither NumPy
nor scikit-learn nor numba, so that ``--help`` and argument errors answer at
once. Each command imports what it needs when it runs.

Bad arguments or files end with one line on stderr and exit status 2, no
traceback, before any fit where they can be known before; a run whose fits
fail ends with status 1 (a sweep still writes the fits that succeeded); an
interrupted run (Ctrl-C, SIGTERM) ends with status 130 and says what it kept;
output to a pipe that closes early ends quietly with status 141. A command
that fails removes the folders it created, if they are empty.
"""

import argparse
import importlib
import re
import signal
import sys

from .._export.formats import EXPORTERS
from ._options import N_JOBS_MEANING, closest_names

# The commands: name (also the module under sklearn_set.cli whose
# add_arguments(parser) declares its options and whose run(args) runs it)
# and the line of the top-level help.
COMMANDS = {
    "sweep": "cross-validated sweep over sparsity",
    "train": "fit one model and save it",
    "predict": "predict a CSV file with a saved model",
    "export": "write a saved model as source code for small devices (--format "
              + ", ".join(sorted(EXPORTERS)) + ")",
}


# -- the parser ----------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors name an option as the user typed it
    and suggest the closest option, command or choice."""

    # abbreviations off: "--epoch" then suggests "--epochs" instead of being
    # taken for it, and a new option cannot change what an old command means
    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)
        self._typed = []
        self.commands = {}  # name: subparser, of the top-level parser

    def parse_known_args(self, args=None, namespace=None):
        self._typed = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        # argparse reports a command's unknown options from the top-level
        # parser; the command's parser can say which of its options was meant
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self.commands.get(getattr(args, "command", None), self)
            parser.error(parser.unrecognized(extras, self.commands))
        return args

    def unrecognized(self, extras, commands):
        """The message for arguments ``extras`` that this parser does not
        know, with the closest of its options for an unknown one."""
        message = f"unrecognized arguments: {' '.join(extras)}"
        unknown = [arg for arg in extras
                   if arg.startswith("-") and not _is_number(arg)]
        if not unknown:
            return message
        typed = unknown[0].split("=", 1)[0]
        close = closest_names(typed, self._option_strings())
        if close:
            message += f"; did you mean {close[0]}?"
        elsewhere = [name for name, parser in commands.items()
                     if parser is not self and typed in parser._option_strings()]
        if elsewhere:
            message += f" ({typed} is an option of {' and '.join(elsewhere)})"
        return message

    def _option_strings(self):
        return [option for action in self._actions for option in action.option_strings
                if option.startswith("--")]

    def _check_value(self, action, value):
        # argparse's check of choices and commands (a private method, the one
        # Python 3.14's suggest_on_error extends): with the closest valid one
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            close = closest_names(value, action.choices)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r} (choose from {choices}){hint}")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {self._as_typed(message)}\n")

    def _as_typed(self, message):
        """``message`` naming an option of several spellings
        ("argument --max-iter/--epochs: ...") by the one typed."""
        match = re.match(r"argument (-[^ :]*/[^ :]*): ", message)
        if not match:
            return message
        spellings = match.group(1).split("/")
        typed = [arg.split("=", 1)[0] for arg in self._typed]
        named = next((s for s in reversed(typed) if s in spellings), spellings[0])
        return f"argument {named}: {message[match.end():]}"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


_DESCRIPTION = """\
Truly sparse neural networks (SET) for scikit-learn: sweep sparsity, train,
predict and export from the command line."""


def _epilog():
    """What the options are named after, and what --n-jobs means in each
    command, wrapped without breaking an option at its hyphens."""
    import textwrap

    return "\n\n".join(textwrap.fill(paragraph, 79, break_on_hyphens=False) for paragraph in (
        "Options that set an estimator parameter are named after it: "
        "--hidden-layer-sizes, --max-iter, --random-state (short aliases: --hidden, "
        "--epochs, --seed).",
        "--n-jobs is the n_jobs of what the command runs: in sweep, the "
        f"{N_JOBS_MEANING['sweep']}; in train and predict, the {N_JOBS_MEANING['train']}."))


def build_parser():
    """The parser of ``sklearn-set``: one subparser per entry of
    :data:`COMMANDS`, whose options its module declares."""
    parser = Parser(
        prog="sklearn-set", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION, epilog=_epilog())
    subparsers = parser.add_subparsers(dest="command", parser_class=Parser)
    for name, help in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help, description=help[0].upper() + help[1:])
        importlib.import_module(f".{name}", __name__).add_arguments(sub)
        parser.commands[name] = sub
    return parser


# -- running a command -----------------------------------------------------------

class _Interrupts:
    """While active, Ctrl-C and SIGTERM raise KeyboardInterrupt and are
    counted: a fit that catches the KeyboardInterrupt (it returns the model
    of its last finished epoch) cannot hide that the user asked to stop. (A
    sweep's fits do not catch it: see
    :func:`sklearn_set._interrupt.interrupt_abandons_fit`.)"""

    def __init__(self):
        self.count = 0
        self._previous = {}

    def _handle(self, signum, frame):
        self.count += 1
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals are the caller's business
                pass
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to say how to go on
    from . import io

    io.forget_created_folders()
    status = 1
    try:
        status = _run(args)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as cat does
        _silence_stdout()
        status = 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1
    finally:
        if status != 0:  # a failed command leaves no folder it created empty
            io.remove_created_folders()
    return status


def _run(args):
    with _Interrupts() as args.interrupts:
        try:
            from .io import UsageError

            command = importlib.import_module(f".{args.command}", __name__)
            try:
                return command.run(args)
            except UsageError as exc:
                print(f"sklearn-set {args.command}: error: {exc}", file=sys.stderr)
                return exc.status
        except KeyboardInterrupt:
            print(f"sklearn-set {args.command}: interrupted", file=sys.stderr)
            return 130


def _silence_stdout():
    """Send what is left for the closed stdout to the null device, so that
    the final flush at exit does not fail again."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no real stdout (captured): nothing to silence
        pass


if __name__ == "__main__":
    sys.exit(main())
