import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pixlearn._core.errors import DataFormatError, ValueRangeError, WrongTypeError
from pixlearn.compression import (
    HuffmanStream,
    entropy,
    huffman_code,
    huffman_decode,
    huffman_encode,
)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_round_trip_any_bytes(data):
    s = huffman_encode(data)
    assert huffman_decode(s) == data
    assert huffman_decode(s.to_bytes()) == data
    assert s.num_bits == sum(len(s.code[b]) for b in data)


@pytest.mark.parametrize("data", [b"", b"a", b"\x00" * 1000])
def test_edge_inputs(data):
    s = huffman_encode(data)
    assert huffman_decode(s.to_bytes()) == data
    assert s.num_bits == len(data)  # one bit per symbol for a single symbol, 0 for empty


def test_integer_arrays_and_tensors_keep_dtype_and_shape():
    a = np.random.default_rng(0).integers(-1000, 1000, (7, 9)).astype(np.int16)
    out = huffman_decode(huffman_encode(a).to_bytes())
    assert out.dtype == np.int16 and np.array_equal(out, a)
    t = torch.randint(0, 5, (3, 4, 5))
    back = huffman_decode(huffman_encode(t.transpose(0, 2)))
    assert isinstance(back, torch.Tensor) and torch.equal(back, t.transpose(0, 2))


def _is_prefix_free(code):
    words = sorted(code.values())
    return all(not b.startswith(a) for a, b in itertools.pairwise(words))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 300), st.integers(1, 10_000), min_size=2, max_size=60))
def test_prefix_free_and_within_one_bit_of_entropy(freqs):
    code = huffman_code(freqs)
    assert _is_prefix_free(code)
    assert sum(2.0 ** -len(c) for c in code.values()) == pytest.approx(1.0)  # complete
    total = sum(freqs.values())
    mean = sum(freqs[s] * len(code[s]) for s in freqs) / total
    h = -sum(f / total * math.log2(f / total) for f in freqs.values())
    assert h - 1e-9 <= mean < h + 1


def test_mean_length_against_entropy_on_a_real_image():
    from pixlearn.data import sample

    data = (sample("camera") * 255).round().to(torch.uint8).numpy().tobytes()
    s = huffman_encode(data)
    h = entropy(data)
    assert h <= s.bits_per_symbol < h + 1
    assert s.bits_per_symbol - h < 0.05  # 256-symbol photo histogram: measured 0.02 bit


def test_known_code_and_canonical_determinism():
    # weights 5, 2, 1, 1: depths 1, 2, 3, 3; canonical numbering in symbol order
    assert huffman_code({3: 5, 1: 2, 0: 1, 2: 1}) == {0: "110", 1: "10", 2: "111", 3: "0"}
    # ties: equal weights give a balanced code whatever the insertion order
    a = huffman_code({i: 1 for i in range(8)})
    b = huffman_code({i: 1 for i in reversed(range(8))})
    assert a == b and set(map(len, a.values())) == {3}
    assert huffman_code({}) == {} and huffman_code({9: 4, 5: 0}) == {9: "0"}


def test_slow_reference_encoder_agrees():
    data = bytes(np.random.default_rng(1).geometric(0.2, 2000).clip(0, 255).astype(np.uint8))
    s = huffman_encode(data)
    bits = "".join(s.code[b] for b in data)
    bits += "0" * (-len(bits) % 8)
    assert s.payload == int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_truncated_and_corrupted_streams_raise():
    raw = huffman_encode(b"hello huffman, hello entropy" * 20).to_bytes()
    for cut in (3, 20, len(raw) - 5):
        with pytest.raises(DataFormatError, match="stream"):
            huffman_decode(raw[:cut])
    with pytest.raises(DataFormatError, match="stream"):
        huffman_decode(b"JUNK" + raw[4:])
    s = huffman_encode(b"aaaa")  # code {'a': '0'}: a 1 bit is no codeword
    with pytest.raises(DataFormatError, match="stream"):
        huffman_decode(HuffmanStream(b"\xf0", s.code, 4, 4))
    with pytest.raises(DataFormatError, match="stream"):
        huffman_decode(HuffmanStream(s.payload, s.code, 5, 4))


def test_bad_arguments():
    with pytest.raises(WrongTypeError, match="data"):
        huffman_encode(np.zeros(3))
    with pytest.raises(WrongTypeError, match="data"):
        huffman_encode("text")
    with pytest.raises(ValueRangeError, match="frequencies"):
        huffman_code({1: -1})
    with pytest.raises(WrongTypeError, match="frequencies"):
        huffman_code([1, 2])
    with pytest.raises(WrongTypeError, match="stream"):
        huffman_decode(12)


def test_entropy_closed_forms():
    assert entropy(b"") == 0.0 and entropy(b"zzzz") == 0.0
    assert entropy(torch.arange(16)) == pytest.approx(4.0)
    assert entropy(np.array([0, 0, 0, 1])) == pytest.approx(
        -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    )
    with pytest.raises(WrongTypeError, match="symbols"):
        entropy([1, 2])
