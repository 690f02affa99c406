"""Image compression: entropy, lossless Huffman and LZW coding, a JPEG-style DCT codec.

The syllabus chapter "Wavelets and multiresolution processing", section compression: lossless
models (Huffman, LZW) that reach the entropy of the data, and the lossy JPEG pipeline (8x8 DCT,
quality-scaled quantisation, zig-zag, run-length and Huffman coding) reporting bits per pixel.
"""

from __future__ import annotations

from pixlearn.compression.dct import blockwise_dct, blockwise_idct, dct_matrix
from pixlearn.compression.entropy import entropy
from pixlearn.compression.huffman import HuffmanStream, huffman_code, huffman_decode, huffman_encode
from pixlearn.compression.jpeg import JPEGStream, jpeg_decode, jpeg_encode
from pixlearn.compression.lzw import LZWStream, lzw_decode, lzw_encode
from pixlearn.compression.wavelet_compress import WaveletCompressed, wavelet_compress

__all__ = [
    "HuffmanStream",
    "JPEGStream",
    "LZWStream",
    "WaveletCompressed",
    "blockwise_dct",
    "blockwise_idct",
    "dct_matrix",
    "entropy",
    "huffman_code",
    "huffman_decode",
    "huffman_encode",
    "jpeg_decode",
    "jpeg_encode",
    "lzw_decode",
    "lzw_encode",
    "wavelet_compress",
]
