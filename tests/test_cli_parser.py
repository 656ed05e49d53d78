"""The command line's parser: options named as the estimator parameters
with their short aliases, messages that name the option as typed, and the
closest option, command or choice suggested for a mistyped one."""

import subprocess
import sys

import pytest
from _cli_helpers import command, said_in_one_line

from sklearn_set.cli import COMMANDS, build_parser


def _estimator_params(argv):
    from sklearn_set.cli.pipeline import scaled_set_pipeline

    args = build_parser().parse_args(argv)
    return scaled_set_pipeline(args, 0.9)[-1].get_params()


@pytest.mark.parametrize("canonical, alias, value, parameter, expected", [
    ("--hidden-layer-sizes", "--hidden", "16,8", "hidden_layer_sizes", (16, 8)),
    ("--max-iter", "--epochs", "7", "max_iter", 7),
    ("--random-state", "--seed", "3", "random_state", 3),
])
@pytest.mark.parametrize("command_", ["sweep", "train"])
def test_both_spellings_set_the_same_estimator_parameter(canonical, alias, value, parameter,
                                                         expected, command_):
    extra = ["--save", "m.skops"] if command_ == "train" else []
    by_name = _estimator_params([command_, canonical, value, *extra])
    by_alias = _estimator_params([command_, alias, value, *extra])
    assert by_name[parameter] == expected
    assert by_name == by_alias
    # "--flag=value" is the same option
    assert _estimator_params([command_, f"{alias}={value}", *extra]) == by_alias


def test_export_takes_the_seed_of_train_by_either_name():
    parse = build_parser().parse_args
    assert parse(["export", "m.skops", "--out", "c", "--seed", "4"]).seed == \
        parse(["export", "m.skops", "--out", "c", "--random-state", "4"]).seed == 4


@pytest.mark.parametrize("typed", ["--hidden", "--hidden-layer-sizes"])
def test_a_bad_value_names_the_option_as_typed(typed):
    code, out, err = command(["train", "--save", "m.skops", typed, "a,b"])
    said_in_one_line(code, err)
    assert err == (f"sklearn-set train: error: argument {typed}: 'a,b' must be "
                   "comma-separated integers, e.g. 256,256\n")


@pytest.mark.parametrize("argv, typed", [
    (["sweep", "--epochs"], "--epochs"), (["sweep", "--max-iter"], "--max-iter"),
    (["sweep", "--seed", "-1"], "--seed"), (["sweep", "--random-state=-1"], "--random-state"),
])
def test_every_argparse_error_names_the_option_as_typed(argv, typed):
    code, _, err = command(argv)
    said_in_one_line(code, err)
    assert f"argument {typed}: " in err and "/" not in err.split(":")[2]


@pytest.mark.parametrize("typed, flag", [("--epochs", "--epochs"), ("--max-iter", "--max-iter"),
                                         (None, "--max-iter")])
def test_the_convergence_warning_names_the_option_as_typed(typed, flag):
    from sklearn_set.cli._options import in_cli_terms

    argv = ["train", "--save", "m.skops"] + ([typed, "200"] if typed else [])
    args = build_parser().parse_args(argv)
    message = ("Stochastic Optimizer: Maximum iterations (200) reached and the "
               "optimization hasn't converged yet.")
    said = in_cli_terms(message, args)
    assert said.startswith(f"the fit reached {flag} 200 before converging")
    assert "Maximum iterations" not in said
    # other messages pass unchanged
    assert in_cli_terms("something else", args) == "something else"


@pytest.mark.parametrize("typed, flag", [("--hidden", "--hidden"),
                                         (None, "--hidden-layer-sizes")])
def test_the_disconnection_warning_names_the_options(typed, flag):
    """train shows the warning of a network left without an input-to-output
    path; its advice names the options, not the estimator's parameters."""
    import warnings

    from sklearn.datasets import load_digits

    from sklearn_set import DisconnectedNetworkWarning, SETClassifier
    from sklearn_set.cli._options import in_cli_terms

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SETClassifier(hidden_layer_sizes=(256, 256), sparsity=0.9995, max_iter=2,
                      random_state=0).fit(X, y)
    message, = [str(w.message) for w in caught if w.category is DisconnectedNetworkWarning]
    argv = ["train", "--save", "m.skops"] + ([typed, "256,256"] if typed else [])
    said = in_cli_terms(message, build_parser().parse_args(argv))
    assert said.startswith("SETClassifier ended with no path from an input to an output")
    assert said.endswith(f"Lower --sparsity, narrow {flag} or use --regrowth connected.")


@pytest.mark.parametrize("argv, said", [
    # a level list, not one level; the single level is train's option
    (["sweep", "--sparsity", "0.9"],
     "unrecognized arguments: --sparsity 0.9; did you mean --sparsities? (--sparsity is "
     "an option of train)"),
    (["train", "--save", "m.skops", "--epoch", "3"],
     "unrecognized arguments: --epoch 3; did you mean --epochs?"),
    (["train", "--save", "m.skops", "--max-iters=3"], "did you mean --max-iter?"),
    # abbreviations are not taken: they are suggested
    (["sweep", "--hid", "8"], "unrecognized arguments: --hid 8; did you mean --hidden?"),
    (["sweep", "--save", "m.skops"], "unrecognized arguments: --save m.skops (--save is an "
                                     "option of train)"),
    (["swep"], "argument command: invalid choice: 'swep' (choose from 'sweep', 'train', "
               "'predict', 'export'); did you mean 'sweep'?"),
    (["sweep", "--regrowth", "randon"], "did you mean 'random'?"),
    (["train", "--save", "m.skops", "--activation", "allrelu6"], "did you mean 'allrelu'?"),
    (["export", "m.skops", "--out", "c", "--format", "C"], "did you mean 'c'?"),
])
def test_the_closest_option_command_or_choice_is_suggested(argv, said):
    code, out, err = command(argv)
    said_in_one_line(code, err)
    assert said in err
    prog = "sklearn-set" if argv[0] not in COMMANDS else f"sklearn-set {argv[0]}"
    assert err.startswith(f"{prog}: error: ")  # the command's parser, not the top one


@pytest.mark.parametrize("argv", [["sweep", "--no-such-option"], ["sweep", "--regrowth", "x"],
                                  ["sweep", "--epochs", "3", "stray"]])
def test_nothing_is_suggested_when_nothing_is_close(argv):
    code, _, err = command(argv)
    said_in_one_line(code, err)
    assert "did you mean" not in err


@pytest.mark.parametrize("argv", [["--help"], ["sweep", "--help"], ["train", "--help"],
                                  ["predict", "--help"], ["export", "--help"],
                                  ["sweep", "--sparsity", "0.9"], ["swep"]])
def test_help_and_suggestions_import_no_numpy(argv):
    code = ("import sys\nfrom sklearn_set.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as exit:\n"
            "    print('status', exit.code)\n"
            "print(sorted(m for m in ('numpy', 'sklearn', 'numba') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_n_jobs_says_what_it_sets_in_each_command():
    from sklearn_set.cli._options import N_JOBS_MEANING

    parser = build_parser()
    for name in ("sweep", "train", "predict"):
        n_jobs, = [action for action in parser.commands[name]._actions
                   if "--n-jobs" in action.option_strings]
        assert n_jobs.help.startswith(N_JOBS_MEANING[name])
    assert "parallel" in N_JOBS_MEANING["sweep"] and "threads" in N_JOBS_MEANING["train"]
    top = parser.format_help()
    assert "sparsity_curve's n_jobs" in top and "the estimator's n_jobs" in top


def test_every_command_has_a_module_with_its_options_and_run():
    import importlib

    parser = build_parser()
    assert list(parser.commands) == list(COMMANDS)
    for name in COMMANDS:
        module = importlib.import_module(f"sklearn_set.cli.{name}")
        assert callable(module.add_arguments) and callable(module.run)


def test_every_export_format_has_its_options():
    from sklearn_set._export.formats import EXPORTERS
    from sklearn_set.cli.export import FORMAT_OPTIONS

    assert set(FORMAT_OPTIONS) == set(EXPORTERS)
    export = build_parser().commands["export"]
    formats, = [a for a in export._actions if "--format" in a.option_strings]
    assert sorted(formats.choices) == sorted(EXPORTERS)
    titles = {group.title for group in export._action_groups}
    assert {title for title, *_ in FORMAT_OPTIONS.values()} <= titles


@pytest.mark.parametrize("width", [60, 79, 100])
def test_the_default_levels_in_the_help_wrap_between_levels(width):
    """The help (and docs/cli.rst, which shows it at 79 columns) lists the
    default levels whole: "0.5" was broken into "0." and "5,0.8,...". """
    import functools

    from sklearn_set.cli.sweep import DEFAULT_SPARSITIES

    sweep = build_parser().commands["sweep"]
    sweep.formatter_class = functools.partial(sweep.formatter_class, width=width)
    words = sweep.format_help().split()
    levels = ", ".join(map(str, DEFAULT_SPARSITIES))
    assert f"(default: {levels})" in " ".join(words)
