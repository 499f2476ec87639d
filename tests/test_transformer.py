"""The grokking transformer: causal, sized like the paper's, explicit attention equal to the fused kernel."""

from __future__ import annotations

import torch

from repro.models.transformer import OperandMLP, Transformer, sinusoidal_positions


def test_output_at_t_does_not_depend_on_later_tokens():
    torch.manual_seed(0)
    model = Transformer(20, (6,), width=32, depth=2, heads=4).eval()
    x = torch.randint(0, 20, (5, 6))
    for t in range(5):
        changed = x.clone()
        changed[:, t + 1 :] = torch.randint(0, 20, changed[:, t + 1 :].shape)
        changed[:, t + 1] = (x[:, t + 1] + 1) % 20  # at least one later token surely differs
        a, b = model.forward_all(x), model.forward_all(changed)
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
        assert not torch.allclose(a[:, t + 1], b[:, t + 1])


def test_explicit_attention_equals_the_fused_kernel():
    torch.manual_seed(0)
    model = Transformer(20, (4,), width=32, heads=4)
    x = torch.randint(0, 20, (7, 4))
    fused = model(x)
    model.prepare_for_vmap()
    torch.testing.assert_close(model(x), fused, rtol=1e-5, atol=1e-6)


def test_paper_size_and_bias_free_untied_head():
    model = Transformer(97 + 6, (4,))  # ÷ mod 97: 97 residues, 5 operation tokens and "="
    non_embedding = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(("embed", "head")))
    # 2 blocks × (4·128² attention + 2·4·128² feed-forward + 2 LayerNorms) ≈ 4·10⁵ (Power et al.)
    assert non_embedding == 2 * (12 * 128 * 128 + 4 * 128)
    assert model.head.bias is None and model.head.weight.data_ptr() != model.embed.weight.data_ptr()
    logits, features = model(torch.zeros(3, 4, dtype=torch.long), return_features=True)
    assert logits.shape == (3, 103) and [f.shape for f in features] == [(3, 128), (3, 128)]


def test_sinusoidal_positions_match_the_formula():
    pe = sinusoidal_positions(5, 8)
    for pos in range(5):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            assert abs(pe[pos, 2 * i] - torch.tensor(angle).sin()) < 1e-6
            assert abs(pe[pos, 2 * i + 1] - torch.tensor(angle).cos()) < 1e-6


def test_operand_mlp_reads_only_the_operands():
    torch.manual_seed(0)
    model = OperandMLP(10, (4,), width=16, embed_width=8)
    x = torch.tensor([[1, 7, 2, 9]])
    same = torch.tensor([[1, 3, 2, 4]])
    torch.testing.assert_close(model(x), model(same))
    assert not torch.allclose(model(x), model(torch.tensor([[2, 7, 1, 9]])))
    assert model.head.bias is None
