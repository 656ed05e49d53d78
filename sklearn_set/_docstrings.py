"""The package's docstring templater and the snippets it fills in.

A docstring template names the snippets it needs as ``%(name)s``;
:func:`fill_doc` puts them in: the named snippets below, shared by the
estimators, or snippets passed by the caller, such as the parameters of
another function taken out of its docstring by :func:`parameter_docs`. One
text per idea: a parameter documented once reads the same everywhere it is
taken.
"""

import inspect
import re

_SNIPPETS = {}

_SNIPPETS["hidden_layer_sizes_parameter"] = """
    hidden_layer_sizes : array-like of int, default=(100,)
        Number of units of each hidden layer. The default is MLPClassifier's.
"""

_SNIPPETS["activation_parameter"] = """
    activation : {"allrelu", "relu", "leaky_relu", "tanh", "logistic", \
"identity"}, default="allrelu"
        Hidden activation. ``"leaky_relu"`` has negative slope 0.01.
        ``"allrelu"`` (Curci, Mocanu and Pechenizkiy, 2021) is a leaky ReLU
        whose negative slope alternates sign by layer: -0.6 on hidden layers
        1, 3, ... and +0.6 on layers 2, 4, ... It is the default because,
        with ``alpha=0.1``, a 98%-sparse network reaches 0.940 accuracy on
        MNIST against 0.911 with ReLU and ``alpha=1e-4`` (documentation page
        "Training recipe"). MLPClassifier's default is ``"relu"``.
"""

_SNIPPETS["regressor_activation_parameter"] = """
    activation : {"relu", "allrelu", "leaky_relu", "tanh", "logistic", \
"identity"}, default="relu"
        Hidden activation, as for :class:`SETClassifier`. The default is
        ``"relu"`` here: ``"allrelu"`` gives the same R^2 on diabetes and
        diverges on unscaled inputs where ``"relu"`` does not.
"""

_SNIPPETS["sparsity_parameter"] = """
    sparsity : "auto" or float in [0, 1), default="auto"
        How many connections the layers keep.

        - ``"auto"``: each layer on its own by the Erdos-Renyi rule of SET
          [1]_ at ``epsilon = 12``: a layer of ``n_in`` inputs and ``n_out``
          units keeps ``min(n_in * n_out, ceil(12 * (n_in + n_out)))``
          connections, so every unit has on average at least 12 inputs
          (all of them where it has fewer). Narrow layers stay dense (a
          13-input layer of 100 units), wide ones become sparse (784 inputs
          into 1000 units: 97.3% sparse). ``sparsity_`` reports the
          sparsity this gave.
        - a float: the fraction of absent connections over all layers, split
          over the layers the Erdos-Renyi way (a layer's density is
          proportional to ``(n_in + n_out) / (n_in * n_out)``, capped at 1).
          Sweeps and grid searches over sparsity use this.

        On 21 classification data sets (documentation page "Training
        recipe") ``SETClassifier()`` was not worse than ``MLPClassifier()``
        on 18, with a median 0.41 of its parameters. A global 0.9 leaves a
        ``(100,)`` layer on 16 inputs 1-2 inputs per unit: on digits averaged
        to 4x4 pixels it scored 0.922 against MLPClassifier's 0.945 and
        ``"auto"``'s 0.947.
"""

_SNIPPETS["regressor_sparsity_parameter"] = """
    sparsity : float in [0, 1) or "auto", default=0.9
        The fraction of absent connections over all layers, split over the
        layers the Erdos-Renyi way, or ``"auto"``, as for
        :class:`SETClassifier`. The regressor keeps 0.9: on diabetes (10
        features, 5 folds) ``"auto"``, a dense network there, overfitted
        (R^2 0.345 against 0.475; documentation page "Training recipe").
"""

_SNIPPETS["topology_parameters"] = """
    zeta : float in [0, 1), default=0.3
        Fraction of the positive and of the negative weights closest to zero
        that are removed at the end of each epoch (the last excepted) and
        regrown at random empty positions. 0 keeps the initial topology.
        New connections start uniform in +-0.1 times the layer's initial
        Glorot bound, with zero momentum (zero Adam moments).

    zeta_schedule : {"constant", "cosine"}, default="constant"
        How the rewired fraction changes over training. ``"constant"``:
        ``zeta`` after every epoch (SET). ``"cosine"``: RigL's cosine decay
        (Evci et al. 2020), ``zeta / 2 * (1 + cos(pi * e / max_iter))``
        after epoch ``e``, so the last epochs fine-tune an almost settled
        topology.

    regrowth : {"random", "connected", "gradient"}, default="random"
        Where pruned connections come back.

        - ``"random"``: uniformly random empty positions (SET).
        - ``"connected"``: connections on no input-to-output path are pruned
          first, and new ones join units of a connected core: the units on
          input-to-output paths, topped up at random to the widest width at
          which a random topology with this budget keeps 90% of its
          connections on a path. At extreme sparsity a random topology falls
          apart (see :func:`connectivity_profile`); this keeps the budget on
          paths that carry signal.
        - ``"gradient"``: where the absolute loss gradient of the empty
          positions is largest, measured on 256 training samples after
          pruning (RigL, Evci et al. 2020); scored block by block, so no
          dense weight matrix is built.

        Read more in the :ref:`User Guide <regrowth>`.
"""

_SNIPPETS["alpha_parameter"] = """
    alpha : float, default=0.1
        L2 penalty, scaled as in MLPClassifier: the loss of a batch of size
        ``B`` gets ``alpha / (2 B) * ||W||^2``. Larger than MLPClassifier's
        1e-4: a sparse network with many units overfits like a wide one;
        0.1 beat 1e-4 on MNIST, digits and a Madelon-like problem
        (documentation page "Training recipe").
"""

_SNIPPETS["regressor_alpha_parameter"] = """
    alpha : float, default=1e-4
        L2 penalty, scaled as in MLPClassifier: the loss of a batch of size
        ``B`` gets ``alpha / (2 B) * ||W||^2``. The classifiers' 0.1 did not
        help on diabetes (R^2 0.370 against 0.384), so the regressor keeps
        MLPRegressor's default.
"""

_SNIPPETS["training_parameters"] = """
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" means ``min(32, n_samples)``. Small batches
        give small data sets enough SGD steps per epoch for regrown
        connections to prove themselves before the next pruning (with 128,
        half of 20 seeds failed a 2-feature toy problem that 32 solves in
        all); large data sets train faster per sample with 128.

    solver : {"sgd", "adam"}, default="sgd"
        The weight update, as in MLPClassifier.

        - ``"sgd"``: stochastic gradient descent with ``momentum``.
        - ``"adam"``: Adam (Kingma and Ba, 2015) with the bias correction
          of scikit-learn's AdamOptimizer. Each connection and bias keeps
          its first and second moment; surviving connections keep them
          across topology changes, regrown ones start at zero. It raised
          MNIST and digits accuracy at moderate sparsity, but training at
          extreme sparsity collapsed with it (digits, sparsity 0.998: 0.56
          against SGD's 0.86), so SGD stays the default.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of ``solver="sgd"``, as MLPClassifier's (Adam
        ignores it, as there):

        - ``"constant"``: ``learning_rate_init`` throughout.
        - ``"invscaling"``: after each epoch the step size becomes
          ``learning_rate_init / (t_ + 1) ** power_t``, ``t_`` being the
          number of samples seen.
        - ``"adaptive"``: ``learning_rate_init`` while training improves;
          whenever the no-improvement rule of ``tol`` and
          ``n_iter_no_change`` would stop training, the step size is
          divided by 5 instead and counting starts over; training stops
          once the step size is at most 1e-6. (MLPClassifier's
          documentation speaks of two epochs without improvement; its code,
          mirrored here, uses ``n_iter_no_change``.)

    learning_rate_init : float, default=0.01
        Initial step size (the constant one of ``learning_rate="constant"``).
        Larger than MLPClassifier's because SET was tuned with momentum SGD.

    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.

    momentum : float in [0, 1], default=0.9
        Momentum of SGD. Surviving connections keep their velocity across
        topology changes; new ones start at zero.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum.

    beta_1 : float in [0, 1), default=0.9
        Adam's decay rate of the first-moment estimates.

    beta_2 : float in [0, 1), default=0.999
        Adam's decay rate of the second-moment estimates.

    epsilon : float, default=1e-8
        Adam's numerical-stability term, added to the square root of the
        second moment.

    dropout : float in [0, 1), default=0.0
        Inverted dropout rate on hidden units during training.
"""

_SNIPPETS["max_iter_parameter"] = """
    max_iter : int, default=500
        Maximum number of epochs (each epoch is one pass over the data
        followed, except after the last, by one topology evolution).
        Training stops earlier when the loss stops improving (``tol``,
        ``n_iter_no_change``). MLPClassifier's 200 ended most fits on small
        data in a ConvergenceWarning, as SGD at a constant step size
        improves the loss slowly for a long time; within 500 most stop by
        themselves (documentation page "Training recipe").
"""

_SNIPPETS["regressor_max_iter_parameter"] = """
    max_iter : int, default=200
        Maximum number of epochs (each epoch is one pass over the data
        followed, except after the last, by one topology evolution), as in
        MLPRegressor.
"""

_SNIPPETS["accset_max_iter_parameter"] = """
    max_iter : int, default=200
        Number of epochs (each epoch is one pass over the data followed,
        except after the last, by one topology evolution); all of them run
        unless ``early_stopping``. At ``shrink_rate=0.02`` 200 epochs can
        take the density down to 2% of where it started.
"""

_SNIPPETS["training_tail_parameters"] = """
    shuffle : bool, default=True
        Whether to shuffle samples in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the topology, initial weights, shuffling, dropout and the
        validation split. With an int and the same data the fitted model is
        the same whatever ``n_jobs`` is.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement, of the
        training loss or, with early stopping, of the validation score.

    verbose : bool or int, default=False
        Print one line per epoch: loss, validation score, sparsity, seconds.

    warm_start : bool, default=False
        Continue from the previous fit's weights and topology, and from its
        optimizer's state: momenta, Adam's moments and step count, the
        scheduled step size (MLPClassifier restarts its optimizer).
"""

_SNIPPETS["early_stopping_parameters"] = """
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when its
        score has not improved by ``tol`` for ``n_iter_no_change`` epochs and
        restore the weights and topology of the best epoch.

    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.

    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement before stopping; ``np.inf`` never stops
        early.
"""

_SNIPPETS["accset_stopping_parameters"] = """
    early_stopping : bool, default=False
        Stop when the selected model (the sparsest within ``tolerance`` of
        the best validation accuracy) has not changed for
        ``n_iter_no_change`` epochs. Without it all ``max_iter`` epochs run.

    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out to measure the accuracy that
        steers the connection budget. Always used.

    n_iter_no_change : int or np.inf, default=10
        With ``early_stopping``, epochs the selected model must stay the same
        before training stops.
"""

_SNIPPETS["set_references"] = """
    .. [1] D. C. Mocanu, E. Mocanu, P. Stone, P. H. Nguyen, M. Gibescu and
       A. Liotta, "Scalable training of artificial neural networks with
       adaptive sparse connectivity inspired by network science", Nature
       Communications 9:2383, 2018.
    .. [2] S. Curci, D. C. Mocanu and M. Pechenizkiy, "Truly sparse neural
       networks at scale", arXiv:2102.01732, 2021 (``activation="allrelu"``).
    .. [3] U. Evci, T. Gale, J. Menick, P. S. Castro and E. Elsen, "Rigging the
       lottery: making all tickets winners", ICML 2020
       (``regrowth="gradient"``).
"""

_SNIPPETS["class_weight_parameter"] = """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (not for
        multilabel targets).
"""

_SNIPPETS["execution_parameters"] = """
    n_jobs : int or None, default=None
        Threads of the numba kernels. None: batch by batch, one thread or
        all of numba's threads (``NUMBA_NUM_THREADS``, which joblib's
        workers set), whichever ran faster lately, so training does not
        collapse when other programs hold cores; inside a dask.distributed
        worker, the worker's thread count. An int fixes the count: -1
        all cores, -2 all but one, ... The fitted model does not depend on
        it.

    dtype : {"float32", "float64", "bfloat16"}, default="float32"
        Compute dtype. float32 is about twice as fast as float64.
        "bfloat16" is mixed precision: float32 weights, biases, optimiser
        state and arithmetic (every sum is formed in float32), while
        training stores the activations, pre-activations and deltas it
        reads back (and each batch of inputs) in bfloat16, float32's upper
        half: half the memory traffic of the sparse kernels. bfloat16 has
        float32's exponent range, so no loss scaling is needed; it keeps 8
        significant bits. Prediction runs in float32 (exact, as the C
        export), and the fitted weights are float32. On CPUs with a
        bfloat16 dot-product instruction (AVX512_BF16) the weight
        gradients use it, which sums in its own order: the fitted model
        then differs from one fitted on a CPU without it.
"""


def _joined(*names):
    return "\n\n".join(_SNIPPETS[name].strip("\n") for name in names)


# The Parameters sections of SETClassifier and SETRegressor, in signature order.
_SNIPPETS["classifier_parameters"] = _joined(
    "hidden_layer_sizes_parameter", "activation_parameter", "sparsity_parameter",
    "topology_parameters", "alpha_parameter", "training_parameters", "max_iter_parameter",
    "training_tail_parameters", "early_stopping_parameters", "class_weight_parameter",
    "execution_parameters")
_SNIPPETS["regressor_parameters"] = _joined(
    "hidden_layer_sizes_parameter", "regressor_activation_parameter",
    "regressor_sparsity_parameter", "topology_parameters", "regressor_alpha_parameter",
    "training_parameters", "regressor_max_iter_parameter", "training_tail_parameters",
    "early_stopping_parameters", "execution_parameters")

_SNIPPETS["classifier_attributes"] = """
    classes_ : ndarray of shape (n_classes,)
        Class labels; ``arange(n_labels)`` for multilabel targets.

    out_activation_ : str
        ``"softmax"``: one output unit per class, binary problems included;
        ``"logistic"`` for multilabel targets, one sigmoid unit per label.
"""

_SNIPPETS["fitted_attributes"] = """
    loss_ : float
        Loss of the last epoch (data loss plus L2 penalty).

    best_loss_ : float or None
        Lowest training loss seen; None with early stopping.

    loss_curve_ : list of float
        Loss of each epoch.

    validation_scores_ : list of float or None
        Validation score of each epoch with early stopping, else None:
        accuracy for classifiers, R^2 for regressors, weighted by the held-out
        samples' ``sample_weight`` (times ``class_weight``).

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    t_ : int
        Number of training samples seen.

    n_iter_ : int
        Number of epochs run by the last call to ``fit`` (or ``partial_fit``),
        as in MLPClassifier: with ``warm_start`` it does not add up over
        calls, so ``n_iter_ < max_iter`` tells whether the last fit stopped
        early. ``loss_curve_`` and ``topology_history_`` keep every epoch.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when X has string column names.

    sparsity_ : float
        Measured fraction of absent connections over all layers: the
        sparsity ``sparsity="auto"`` chose. ``n_connections_`` gives each
        layer's share.

    n_connections_ : ndarray of int
        Connections of each layer (one entry per layer, input layer first).

    topology_history_ : structured ndarray of shape (n_epochs,)
        One record per epoch trained, like ``loss_curve_`` (``len ==
        n_iter_`` for a single fit), of the network after that epoch, with
        the fields ``"connections"`` and ``"active_connections"`` (per
        layer; active: on at least one input-to-output path),
        ``"active_fraction"``, ``"live_neurons"`` (per hidden layer: units
        reachable from an input that reach an output), ``"inputs_in_use"``,
        ``"outputs_reached"``, degree summaries (``"mean_in_degree"``,
        ``"max_in_degree"``, ``"max_out_degree"``) and ``"turnover"``: the
        share of the connections regrown at the previous evolution that the
        last pruning spared (NaN when there was none). A record reads by
        field name (``topology_history_[-1]["active_fraction"]``), and a
        field is the column over the epochs
        (``topology_history_["connections"]`` has shape ``(n_epochs,
        n_layers)``). One array, so it adds a few kilobytes to a saved model.

    topology_ : dict
        The same statistics for the returned model, as a dict of the field
        names.

    erdos_renyi_epsilon_ : float
        The Erdos-Renyi epsilon of the allocation: the one that realises a
        numeric ``sparsity``, or the fixed one of ``sparsity="auto"``; inf
        when every layer is dense. (Not Adam's ``epsilon``.)

    coefs_ : list of scipy.sparse.csr_matrix
        Weights; entry ``i`` has shape ``(n_units[i], n_units[i + 1])``.

    intercepts_ : list of ndarray
        Biases of each layer.

    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Each input's share of the summed absolute weight of the first layer's
        connections, for :class:`~sklearn.feature_selection.SelectFromModel`.
"""


_SNIPPETS["exported_model_parameter"] = """
    model : estimator or Pipeline
        A fitted :class:`SETClassifier`, :class:`AccSETClassifier` or
        :class:`SETRegressor`, or a :class:`~sklearn.pipeline.Pipeline` of
        ``StandardScaler``, ``MinMaxScaler`` or ``MaxAbsScaler`` steps ending
        in one."""


def fill_doc(template, **snippets):
    """``template`` with every ``%(name)s`` replaced by the snippet of that
    name: one of ``snippets``, else one of the package's (an unknown name is
    a KeyError: a typo must not pass silently)."""

    def snippet(match):
        name = match.group(1)
        return snippets[name] if name in snippets else _SNIPPETS[name].strip("\n")

    return re.sub(r"%\((\w+)\)s", snippet, template)


def filled(**snippets):
    """Decorator: the function's docstring put through :func:`fill_doc`."""

    def decorate(func):
        func.__doc__ = fill_doc(func.__doc__, **snippets)
        return func

    return decorate


def parameter_docs(func, names, *, indent):
    """The entries of ``names`` in the Parameters section of ``func``'s
    numpydoc docstring, in the order of ``names``, indented by ``indent``
    spaces (a name the docstring lacks is a KeyError)."""
    text = inspect.cleandoc(func.__doc__)
    section = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", text,
                        flags=re.MULTILINE | re.DOTALL).group(1)
    # an entry starts with an unindented "name : type" line
    entries = {}
    for entry in re.split(r"\n(?=\S)", section.strip("\n")):
        entries[re.match(r"\**(\w+)", entry).group(1)] = entry.rstrip()
    pad = " " * indent
    return "\n\n".join(
        "\n".join(pad + line if line else line for line in entries[name].split("\n"))
        for name in names)
