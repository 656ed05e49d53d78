"""What a ``.skops`` model file may hold: each node kind of skops' format
and the classes it may name, by their full dotted name.

The names are built from the class objects themselves, so a name on the
list is where its class is defined. A file is checked against these names
as strings, before anything is imported (see :mod:`.audit`).
"""

import builtins
import collections
import functools

import numpy as np
import scipy.sparse as sp

# The bit generators a numpy Generator may be rebuilt with (skops calls the
# class it finds by this name).
BIT_GENERATORS = frozenset({"MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"})

# The node kinds of skops' format that build objects of data, and the kinds
# that this package never writes, each with what it would let a file do
# (named in the refusal).
REFUSED_NODE_KINDS = {
    "FunctionNode": "a function",
    "MethodNode": "a method",
    "PartialNode": "a functools.partial",
    "OperatorFuncNode": "an operator function (attrgetter, itemgetter, methodcaller)",
    "ConstructorFromReduceNode": "an object built by calling its class",
    "ReduceNode": "an object built by calling a function",
    "TreeNode": "a decision tree (not part of a model of this package)",
    "LossNode": "a loss object built by calling its class",
    "DefaultDictNode": "a defaultdict (its factory is called)",
    "CachedNode": "a reference skops does not write",
    "MaskedArrayNode": "a masked array (not part of a model of this package)",
    "QuantileForestNode": "a quantile forest (not part of a model of this package)",
    "_DictWithDeprecatedKeysNode": "a dict of an old scikit-learn",
}


# Parameters of allowed classes that a model calls: a model file may only
# leave them None (a FunctionTransformer is then the identity).
CALLED_PARAMETERS = {
    "sklearn.preprocessing._function_transformer.FunctionTransformer": ("func",
                                                                         "inverse_func"),
    "sklearn.compose._target.TransformedTargetRegressor": ("func", "inverse_func"),
}


def _name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _names(classes):
    return {_name(cls): cls for cls in classes}


def _numpy_scalar_types():
    kinds = ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
             "uint64", "float16", "float32", "float64", "longdouble", "complex64",
             "complex128", "str_", "bytes_")
    return [getattr(np, kind) for kind in kinds]


def _estimators():
    """This package's estimators and the objects they hold, and the
    scikit-learn classes a model of this package may be composed with."""
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import (
        Binarizer,
        FunctionTransformer,
        KBinsDiscretizer,
        LabelBinarizer,
        LabelEncoder,
        MaxAbsScaler,
        MinMaxScaler,
        Normalizer,
        OneHotEncoder,
        OrdinalEncoder,
        PolynomialFeatures,
        PowerTransformer,
        QuantileTransformer,
        RobustScaler,
        StandardScaler,
    )

    from .._accset import AccSETClassifier
    from .._curve import SparsityCurveRegressor
    from .._curve._families import (
        CapacityConnectivity,
        Logistic,
        Rosenfeld,
        Structural,
        Weibull,
    )
    from .._engine.layer import SparseLayer
    from .._engine.network import SparseMLP
    from .._evolution.policies import AccSETPolicy, SETPolicy
    from .._evolution.rules import ConnectedRegrowth, GradientRegrowth, RandomRegrowth
    from .._set import SETClassifier, SETRegressor

    return [
        # this package
        SETClassifier, SETRegressor, AccSETClassifier, SparsityCurveRegressor,
        SparseMLP, SparseLayer, SETPolicy, AccSETPolicy, RandomRegrowth,
        ConnectedRegrowth, GradientRegrowth,
        Rosenfeld, Logistic, Weibull, CapacityConnectivity, Structural,
        # scikit-learn: composition, scaling, encoding, imputation, projection
        Pipeline, FeatureUnion, ColumnTransformer, TransformedTargetRegressor,
        StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, Normalizer, Binarizer,
        QuantileTransformer, PowerTransformer, KBinsDiscretizer, PolynomialFeatures,
        OneHotEncoder, OrdinalEncoder, LabelBinarizer, LabelEncoder,
        SimpleImputer, MissingIndicator, PCA, TruncatedSVD, VarianceThreshold,
        # only without a function: see CALLED_PARAMETERS
        FunctionTransformer,
    ]


@functools.cache
def allowed_types():
    """The classes each node kind may name: ``{node kind: {full name: class}}``."""
    from .._evolution.policies import Candidate

    scalars = _numpy_scalar_types()
    plain = [builtins.str, builtins.int, builtins.float, builtins.bool, builtins.bytes,
             builtins.complex]
    return {
        "ObjectNode": _names(_estimators()),
        "DictNode": _names([builtins.dict, collections.OrderedDict]),
        "ListNode": _names([builtins.list]),
        "SetNode": _names([builtins.set]),
        "TupleNode": _names([builtins.tuple, Candidate]),
        "SliceNode": _names([builtins.slice]),
        # JSON text: skops writes "builtins.str" whatever the value is, and
        # never resolves the name
        "JsonNode": _names([builtins.str, builtins.int, builtins.float, builtins.bool,
                            builtins.list, builtins.dict]),
        "BytesNode": _names([builtins.bytes]),
        "BytearrayNode": _names([builtins.bytearray]),
        # read with numpy.load(allow_pickle=False); a scalar type is called on it
        "NdArrayNode": _names([np.ndarray, *scalars]),
        "DTypeNode": _names([np.dtype]),
        "RandomGeneratorNode": _names([np.random.Generator]),
        "RandomStateNode": _names([np.random.RandomState]),
        "SparseMatrixNode": _names([sp.csr_matrix, sp.csc_matrix, sp.coo_matrix,
                                    sp.csr_array, sp.csc_array, sp.coo_array]),
        # types stored as values (a dtype parameter, a dict's key types)
        "TypeNode": _names([*plain, *scalars]),
    }


def allowed_names():
    """Every full name a model file may hold, sorted."""
    return sorted({name for names in allowed_types().values() for name in names})
