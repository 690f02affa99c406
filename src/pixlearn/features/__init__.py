"""Classical recognition: integral images and Haar features, Viola-Jones, HOG, corners, SIFT,
descriptor matching, bag of visual words and Fisher vectors."""

from __future__ import annotations

from pixlearn.features.bovw import ASSIGNMENTS, BagOfVisualWords, bovw_histogram
from pixlearn.features.corners import (
    harris_corners,
    harris_response,
    hessian_eigenvalues,
    hessian_ridges,
    shi_tomasi_corners,
    shi_tomasi_response,
    structure_tensor,
)
from pixlearn.features.dense import DESCRIPTOR_KINDS, dense_descriptors, dense_grid_size
from pixlearn.features.dpm import DeformablePartModel
from pixlearn.features.fisher import FisherVector, fisher_vector
from pixlearn.features.gdt import distance_transform_generalized
from pixlearn.features.haar import HAAR_FEATURE_TYPES, haar_like_feature, haar_like_feature_coords
from pixlearn.features.hog import (
    HOG_BLOCK_NORMS,
    hog,
    hog_cell_histograms,
    hog_image,
    hog_normalize_blocks,
)
from pixlearn.features.hog_detector import HOGDetector
from pixlearn.features.integral import integral_image, integral_sum
from pixlearn.features.matching import match_descriptors, ransac_homography
from pixlearn.features.sift import SIFT, SIFTKeypoints
from pixlearn.features.surf import SURF
from pixlearn.features.viola_jones import ViolaJones

__all__ = [
    "ASSIGNMENTS",
    "DESCRIPTOR_KINDS",
    "HAAR_FEATURE_TYPES",
    "HOG_BLOCK_NORMS",
    "SIFT",
    "SURF",
    "BagOfVisualWords",
    "DeformablePartModel",
    "FisherVector",
    "HOGDetector",
    "SIFTKeypoints",
    "ViolaJones",
    "bovw_histogram",
    "dense_descriptors",
    "dense_grid_size",
    "distance_transform_generalized",
    "fisher_vector",
    "haar_like_feature",
    "haar_like_feature_coords",
    "harris_corners",
    "harris_response",
    "hessian_eigenvalues",
    "hessian_ridges",
    "hog",
    "hog_cell_histograms",
    "hog_image",
    "hog_normalize_blocks",
    "integral_image",
    "integral_sum",
    "match_descriptors",
    "ransac_homography",
    "shi_tomasi_corners",
    "shi_tomasi_response",
    "structure_tensor",
]
