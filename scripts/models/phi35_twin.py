"""Write a tiny twin of the GPU default: a randomly initialised Phi3ForCausalLM whose config is
Phi-3.5-mini-instruct's in every key but size, with Phi-3.5's tokenizer, chat template and
generation config, quantized with AutoAWQ into the AutoAWQ GEMM format of the default
checkpoint (thesven/Phi-3.5-mini-instruct-awq: 4 bits, group size 128, zero point).

Runs in its own environment (scripts/models/setup_twin.sh makes .venv-autoawq and fetches the
vocabulary):

    .venv-autoawq/bin/python scripts/models/phi35_twin.py OUT_DIR --vocab ggml-vocab-phi-3.gguf

The vocabulary is Phi-3's own (Phi-3.5-mini uses Phi-3-mini's tokenizer): llama.cpp's
vocabulary-only GGUF of it, shipped in llama-cpp-python's source distribution on PyPI. It is
turned back into the SentencePiece model it was converted from (32000 pieces: Llama 2's
BPE vocabulary with byte fallback) plus Phi-3's 11 added tokens at their ids.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from atomic_dir import is_complete, write_atomically
from quantize_awq import CALIBRATION

# https://huggingface.co/microsoft/Phi-3.5-mini-instruct/blob/main/config.json (public), every
# key as published. The rope factor lists have one entry per pair of head dimensions
# (96 / 2 = 48), which the twin keeps by keeping the head dimension.
# fmt: off
PHI35_CONFIG = {
    "_name_or_path": "Phi-3.5-mini-instruct",
    "architectures": ["Phi3ForCausalLM"],
    "attention_dropout": 0.0,
    "auto_map": {
        "AutoConfig": "configuration_phi3.Phi3Config",
        "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM",
    },
    "bos_token_id": 1,
    "embd_pdrop": 0.0,
    "eos_token_id": 32000,
    "hidden_act": "silu",
    "hidden_size": 3072,
    "initializer_range": 0.02,
    "intermediate_size": 8192,
    "max_position_embeddings": 131072,
    "model_type": "phi3",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "original_max_position_embeddings": 4096,
    "pad_token_id": 32000,
    "resid_pdrop": 0.0,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "long_factor": [
            1.0800000429153442, 1.1100000143051147, 1.1399999856948853, 1.340000033378601,
            1.5899999141693115, 1.600000023841858, 1.6200000047683716, 2.620000123977661,
            3.2300000190734863, 3.2300000190734863, 4.789999961853027, 7.400000095367432,
            7.700000286102295, 9.09000015258789, 12.199999809265137, 17.670000076293945,
            24.46000099182129, 28.57000160217285, 30.420001983642578, 30.840002059936523,
            32.590003967285156, 32.93000411987305, 42.320003509521484, 44.96000289916992,
            50.340003967285156, 50.45000457763672, 57.55000305175781, 57.93000411987305,
            58.21000289916992, 60.1400032043457, 62.61000442504883, 62.62000274658203,
            62.71000289916992, 63.1400032043457, 63.1400032043457, 63.77000427246094,
            63.93000411987305, 63.96000289916992, 63.970001220703125, 64.02999877929688,
            64.06999969482422, 64.08000183105469, 64.12000274658203, 64.41000366210938,
            64.4800033569336, 64.51000213623047, 64.52999877929688, 64.83999633789062,
        ],
        "short_factor": [
            1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705,
            1.0499999523162842, 1.0499999523162842, 1.0499999523162842, 1.0499999523162842,
            1.0499999523162842, 1.0699999332427979, 1.0999999046325684, 1.1099998950958252,
            1.1599998474121094, 1.1599998474121094, 1.1699998378753662, 1.2899998426437378,
            1.339999794960022, 1.679999828338623, 1.7899998426437378, 1.8199998140335083,
            1.8499997854232788, 1.8799997568130493, 1.9099997282028198, 1.9399996995925903,
            1.9899996519088745, 2.0199997425079346, 2.0199997425079346, 2.0199997425079346,
            2.0199997425079346, 2.0199997425079346, 2.0199997425079346, 2.0299997329711914,
            2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
            2.0299997329711914, 2.0299997329711914, 2.0299997329711914, 2.0299997329711914,
            2.0799996852874756, 2.0899996757507324, 2.189999580383301, 2.2199995517730713,
            2.5899994373321533, 2.729999542236328, 2.749999523162842, 2.8399994373321533,
        ],
        "type": "longrope",
    },
    "rope_theta": 10000.0,
    "sliding_window": 262144,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "attention_bias": False,
    "vocab_size": 32064,
}
# fmt: on
HEAD_DIM = 96
# What the twin changes: size only. Widths are multiples of both the head dimension (96)
# and the AWQ group (128): 384 = 4 heads x 96; a narrow MLP of 512.
TWIN_SIZE = {
    "hidden_size": 4 * HEAD_DIM,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
}
# https://huggingface.co/microsoft/Phi-3.5-mini-instruct/blob/main/generation_config.json:
# <|end|> (32007) stops an answer, but only this file says so, not config.json.
GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 1,
    "eos_token_id": [32007, 32001, 32000],
    "pad_token_id": 32000,
}
# tokenizer_config.json of the same repository: the chat template, and the added tokens
# (ids 32000-32010, all special; every one but <|endoftext|> strips the whitespace after it,
# which is why a newline after <|user|> never reaches the model as a token).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}"
    "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)
ADDED_TOKENS = {
    32000: "<|endoftext|>",
    32001: "<|assistant|>",
    32002: "<|placeholder1|>",
    32003: "<|placeholder2|>",
    32004: "<|placeholder3|>",
    32005: "<|placeholder4|>",
    32006: "<|system|>",
    32007: "<|end|>",
    32008: "<|placeholder5|>",
    32009: "<|placeholder6|>",
    32010: "<|user|>",
}
BASE_VOCAB = 32000
# The AutoAWQ configuration of thesven/Phi-3.5-mini-instruct-awq (config.json's
# quantization_config: awq, 4 bits, group 128, zero point, GEMM).
QUANT_CONFIG = {"zero_point": True, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}


def sentencepiece_model(vocab: Path, out: Path) -> None:
    """Rebuild Llama 2's tokenizer.model (which Phi-3 uses) from llama.cpp's vocabulary GGUF:
    same pieces, scores and piece types; BPE with byte fallback, a dummy prefix, whitespace
    kept as written."""
    from gguf import GGUFReader
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    reader = GGUFReader(vocab)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    scores = reader.fields["tokenizer.ggml.scores"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    proto = model_pb2.ModelProto()
    for piece, score, kind in zip(
        tokens[:BASE_VOCAB], scores[:BASE_VOCAB], types[:BASE_VOCAB], strict=True
    ):
        entry = proto.pieces.add()
        entry.piece, entry.score, entry.type = piece, score, kind  # same numbering as GGUF's
    trainer = proto.trainer_spec
    trainer.model_type = model_pb2.TrainerSpec.BPE
    trainer.vocab_size = BASE_VOCAB
    trainer.byte_fallback = True
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = 0, 1, 2, -1
    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    out.write_bytes(proto.SerializeToString())


def build_tokenizer(vocab: Path, scratch: Path):
    from transformers import AddedToken, LlamaTokenizer, LlamaTokenizerFast

    model_file = scratch / "tokenizer.model"
    sentencepiece_model(vocab, model_file)
    slow = LlamaTokenizer(
        vocab_file=str(model_file), legacy=False, add_bos_token=False, add_eos_token=False
    )
    tokenizer = LlamaTokenizerFast.from_pretrained(
        str(scratch),
        from_slow=True,
        legacy=False,
        add_bos_token=False,
        add_eos_token=False,
    )
    del slow
    for token_id, text in ADDED_TOKENS.items():
        added = AddedToken(text, rstrip=text != "<|endoftext|>", normalized=False, special=True)
        tokenizer.add_special_tokens({"additional_special_tokens": [added]})
        assert tokenizer.convert_tokens_to_ids(text) == token_id, text
    tokenizer.eos_token = "<|endoftext|>"
    tokenizer.pad_token = "<|endoftext|>"
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.model_max_length = PHI35_CONFIG["max_position_embeddings"]
    tokenizer.padding_side = "left"
    return tokenizer


def build_model(float_dir: Path, tokenizer) -> None:
    import torch
    from transformers import GenerationConfig, Phi3Config, Phi3ForCausalLM

    torch.manual_seed(0)
    config = Phi3Config(**{**PHI35_CONFIG, **TWIN_SIZE})
    model = Phi3ForCausalLM(config).to(torch.float16)
    model.generation_config = GenerationConfig(**GENERATION_CONFIG)
    model.save_pretrained(float_dir)
    tokenizer.save_pretrained(float_dir)


def quantize(float_dir: Path, out: Path) -> None:
    from awq import AutoAWQForCausalLM
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(float_dir)
    # auto_map names Microsoft's remote code, which the twin does not carry; transformers'
    # own Phi3 classes are the ones vLLM compares against anyway.
    model = AutoAWQForCausalLM.from_pretrained(
        str(float_dir), safetensors=True, trust_remote_code=False
    )
    texts = list(CALIBRATION)
    total = sum(len(tokenizer(text).input_ids) for text in texts)
    if total < 512:  # AutoAWQ cuts the joined texts into 512-token blocks
        raise SystemExit(f"calibration texts hold {total} tokens; AutoAWQ needs at least 512")
    model.quantize(tokenizer, quant_config=QUANT_CONFIG, calib_data=texts, max_calib_seq_len=512)
    model.save_quantized(str(out))
    tokenizer.save_pretrained(out)
    (out / "generation_config.json").write_text(json.dumps(GENERATION_CONFIG, indent=2) + "\n")


def write_twin(vocab: Path, out: Path) -> None:
    float_dir = out / "float16"
    float_dir.mkdir()
    print("twin: [1/3] Phi-3.5's tokenizer from the vocabulary GGUF", flush=True)
    tokenizer = build_tokenizer(vocab, float_dir)
    print("twin: [2/3] a random Phi3ForCausalLM with Phi-3.5's config at toy size", flush=True)
    build_model(float_dir, tokenizer)
    print("twin: [3/3] AutoAWQ: 4-bit, group 128, zero point, GEMM", flush=True)
    quantize(float_dir, out)
    for item in float_dir.iterdir():
        item.unlink()
    float_dir.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--vocab", type=Path, required=True, help="ggml-vocab-phi-3.gguf")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if is_complete(args.out_dir):
        print(f"twin already written: {args.out_dir}")
        return
    started = time.monotonic()
    write_atomically(args.out_dir, lambda scratch: write_twin(args.vocab, scratch), "phi35 twin")
    print(f"Phi-3.5 twin written to {args.out_dir} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
