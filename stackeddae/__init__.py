"""Stacked denoising autoencoders with greedy layer-wise pretraining, as
scikit-learn estimators."""

from ._autoencoder import DenoisingAutoencoder
from ._outlier import ReconstructionOutlierDetector
from ._stacked import StackedDenoisingAutoencoder
from ._supervised import SdAClassifier, SdARegressor
from ._training import DivergenceWarning
from ._version import __version__ as __version__  # re-exported

__all__ = [
    "DenoisingAutoencoder",
    "DivergenceWarning",
    "ReconstructionOutlierDetector",
    "SdAClassifier",
    "SdARegressor",
    "StackedDenoisingAutoencoder",
]
