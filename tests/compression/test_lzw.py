import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixlearn._core.errors import DataFormatError, WrongTypeError
from pixlearn.compression import LZWStream, lzw_decode, lzw_encode


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_round_trip_any_bytes(data):
    s = lzw_encode(data)
    assert lzw_decode(s) == data
    assert lzw_decode(s.to_bytes()) == data


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"b", b"ab", b"ba"]), max_size=200))
def test_round_trip_small_alphabets(parts):
    data = b"".join(parts)
    assert lzw_decode(lzw_encode(data)) == data


def _slow_codes(data):
    """Textbook LZW with bytes keys (no reset needed for short inputs)."""
    table = {bytes([i]): i for i in range(256)}
    out, w = [], b""
    for c in data:
        wc = w + bytes([c])
        if wc in table:
            w = wc
        else:
            out.append(table[w])
            table[wc] = len(table) + 1  # code 256 is CLEAR
            w = bytes([c])
    return [*out, table[w]] if w else out


def test_codes_match_the_textbook_algorithm():
    data = b"TOBEORNOTTOBEORTOBEORNOT#" * 30
    codes = _slow_codes(data)
    s = lzw_encode(data)
    assert s.num_codes == len(codes)
    # widths: 9 bits while codes < 512, then 10 ...
    widths = [min(16, (256 + k).bit_length()) for k in range(len(codes))]
    bits = "".join(format(c, f"0{w}b") for c, w in zip(codes, widths, strict=True))
    assert s.num_bits == len(bits)
    bits += "0" * (-len(bits) % 8)
    assert s.payload == int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_kwkwk_case():
    # "aaa...": the second code is the phrase the decoder is about to define
    for n in (1, 2, 3, 4, 10, 1000):
        data = b"a" * n
        assert lzw_decode(lzw_encode(data)) == data
    assert lzw_encode(b"aaa").num_codes == 2  # 'a', then 'aa' = code 257 before it exists


def test_compresses_repetitive_data_and_resets_dictionary():
    rep = b"the quick brown fox " * 5000
    s = lzw_encode(rep)
    assert s.bits_per_byte < 0.5
    noise = os.urandom(200_000)  # > 65280 codes: at least one CLEAR and reset
    s = lzw_encode(noise)
    assert s.num_codes > 65_536 and lzw_decode(s) == noise
    assert s.bits_per_byte > 8  # random data cannot be compressed


def test_round_trip_real_image_bytes():
    from pixlearn.data import sample

    data = (sample("text") * 255).round().byte().numpy().tobytes()
    s = lzw_encode(data)
    assert lzw_decode(s.to_bytes()) == data and s.num_bits < 8 * len(data)


def test_truncated_and_corrupted_streams_raise():
    s = lzw_encode(b"abcabcabcabcabcabc" * 10)
    raw = s.to_bytes()
    for cut in (10, len(raw) - 3):
        with pytest.raises(DataFormatError, match="stream"):
            lzw_decode(raw[:cut])
    # a code beyond the dictionary: 9 one-bits = 511 as the first code
    with pytest.raises(DataFormatError, match=r"stream.*dictionary"):
        lzw_decode(LZWStream(b"\xff\x80", 1, 9, 1))
    with pytest.raises(DataFormatError, match="stream"):
        lzw_decode(LZWStream(s.payload, s.num_codes, s.num_bits, s.length + 1))
    with pytest.raises(WrongTypeError, match="data"):
        lzw_encode(np.zeros(3, np.uint8))
