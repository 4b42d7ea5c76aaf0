"""Tiny, randomly initialised BLIP and GPT-Neo models with tiny tokenizers, saved to folders.

They load through the same from_pretrained path as the real models, in well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CAPTION_WORDS = ["a", "cat", "dog", "sitting", "on", "the", "couch", "with", "cup", "of", "coffee", "red",
                 "rocket", "woman", "in", "space", "suit", "table", "grass", "small"]
STORY_WORDS = ["the", "cat", "dog", "was", "happy", "and", "played", "with", "ball", "sun", "day", "he",
               "she", "said", "to", "mom", "a", "big", "little", "tree"]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-level alphabet: each byte as a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def build_tiny_models(root: Path) -> tuple[Path, Path]:
    """Save a tiny BLIP captioner and a tiny GPT-Neo story model under root; return both folders."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor, GPT2Tokenizer, GPTNeoConfig, GPTNeoForCausalLM)

    torch.manual_seed(0)
    caption_dir, story_dir = Path(root) / "tiny-blip", Path(root) / "tiny-gpt-neo"

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    bert_vocab = {w: i for i, w in enumerate(specials + CAPTION_WORDS)}
    bert = BertTokenizer(vocab=bert_vocab, do_lower_case=True, bos_token="[DEC]")
    processor = BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), bert)
    config = BlipConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        text_config=dict(vocab_size=len(bert_vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, encoder_hidden_size=32, max_position_embeddings=64,
                         pad_token_id=0, sep_token_id=3, bos_token_id=5, eos_token_id=3))
    BlipForConditionalGeneration(config).save_pretrained(caption_dir)
    processor.save_pretrained(caption_dir)

    # Byte-level symbols first, so any prompt round-trips through encode/decode exactly.
    symbols = list(bytes_to_unicode().values()) + [f"\u0120{w}" for w in STORY_WORDS] + ["\u0120t"]
    gpt_vocab = {s: i for i, s in enumerate(dict.fromkeys(symbols))}
    gpt_vocab["<|endoftext|>"] = len(gpt_vocab)
    gpt = GPT2Tokenizer(vocab=gpt_vocab, merges=[("\u0120", "t")])
    eos = gpt_vocab["<|endoftext|>"]
    neo = GPTNeoConfig(vocab_size=len(gpt_vocab), hidden_size=32, num_layers=2, num_heads=2,
                       attention_types=[[["global", "local"], 1]], window_size=16, max_position_embeddings=512,
                       intermediate_size=64, bos_token_id=eos, eos_token_id=eos)
    lm = GPTNeoForCausalLM(neo)
    with torch.no_grad():
        # Make it a context-free "unigram" model: a zeroed final LayerNorm leaves only its
        # bias u, so logits = wte @ u. Words and "." get logit 4, bytes -4, EOS -2: the
        # samples read as word salad with sentence ends, which the sentence cut needs.
        u = torch.nn.functional.normalize(torch.randn(32), dim=0)
        target = torch.full((len(gpt_vocab),), -4.0)
        for w in STORY_WORDS:
            target[gpt_vocab[f"\u0120{w}"]] = 4.0
        target[gpt_vocab["."]], target[eos] = 4.0, -2.0
        wte = lm.transformer.wte.weight
        noise = torch.randn_like(wte) * 0.02
        wte.copy_(noise - (noise @ u)[:, None] * u + target[:, None] * u)
        lm.transformer.ln_f.weight.zero_()
        lm.transformer.ln_f.bias.copy_(u)
    lm.save_pretrained(story_dir)
    gpt.save_pretrained(story_dir)
    return caption_dir, story_dir


# ---------------------------------------------------------------- pytest fixtures shared by the story tests


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: intra-op threads spin against each other on tiny matmuls (10x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.mktemp("story-models"))


@pytest.fixture
def story_env(tiny_models, monkeypatch):
    caption_dir, story_dir = tiny_models
    monkeypatch.setenv("LABS_CAPTION_MODEL", str(caption_dir))
    monkeypatch.setenv("LABS_STORY_MODEL", str(story_dir))
    return tiny_models
