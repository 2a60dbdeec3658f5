from server.sampling.vocabulary import Vocabulary, is_byte_level, piece_to_bytes


def test_byte_level_pieces_map_to_their_bytes():
    assert piece_to_bytes("Ġworld", byte_level=True) == b" world"
    assert piece_to_bytes("ĠÃ©", byte_level=True) == " é".encode()
    # 'Ġâ' + 'ĺ' + 'ĥ' is ' ☃' split inside the character
    assert piece_to_bytes("Ġâ", byte_level=True) == b" \xe2"
    assert piece_to_bytes("ĺ", byte_level=True) == b"\x98"
    assert piece_to_bytes("Ċ", byte_level=True) == b"\n"


def test_sentencepiece_pieces_and_byte_fallback():
    assert piece_to_bytes("▁Paris", byte_level=False) == b" Paris"
    assert piece_to_bytes("<0xE2>", byte_level=False) == b"\xe2"
    assert piece_to_bytes("<0x0A>", byte_level=False) == b"\n"


def test_vocabulary_text_replaces_partial_characters():
    vocab = Vocabulary.from_pieces(["Ġâ", "ĺ", "ĥ", "hi"], byte_level=True)
    assert vocab.bytes_of(0) + vocab.bytes_of(1) + vocab.bytes_of(2) == " ☃".encode()
    assert vocab.text_of(0) == " \ufffd"
    assert vocab.text_of(3) == "hi"
    assert vocab.bytes_of(99) == b""


def test_kind_detection():
    assert is_byte_level("Ġa")
    assert not is_byte_level("▁a")
