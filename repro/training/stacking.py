"""Train N models of one architecture as one: stacked parameters, one vmapped forward, one optimizer.

Small models leave a GPU launch-bound (README.md, Performance: a 2-layer token transformer ran 142 steps/s
on an H100, 32 stacked ran 3.2k model-steps/s). ``StackedModules`` holds every member's parameters
stacked along a new leading dimension (``torch.func.stack_module_state``) and runs them with
``torch.func.functional_call`` under ``torch.vmap``. Because each member's loss depends only on its
own slice, the gradient of the summed loss is every member's own gradient; element-wise optimizers
(SGD, Adam, AdamW, Adagrad) over the stacked tensors then do exactly what N separate optimizers do.

Batch norm stacks too: each member keeps its own running statistics (buffers named ``running_mean``,
``running_var``, ``num_batches_tracked`` are stacked like the parameters and updated in place under vmap), so a
member normalises with its own batch statistics in training and its own running averages in eval, exactly as a
separate module would. Other buffers (constant tables) are shared from member 0. Works for MLPs, transformers and
convnets, with or without batch norm::

    stacked = StackedModules([MLP(10, (64,), width=32) for _ in range(4)])
    logits = stacked(x)                 # (4, N, 10): every member on the same batch
    opt = torch.optim.Adam(stacked.parameters())
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from repro.errors import ReproError

_RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def _running(name: str) -> bool:
    """Whether a buffer holds a member's own running state (batch-norm statistics) rather than a constant."""
    return name.rsplit(".", 1)[-1] in _RUNNING


def _check_stackable(modules: Sequence[nn.Module]) -> None:
    if not modules:
        raise ReproError("StackedModules needs at least one module")
    for m in modules[0].modules():
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats and m.momentum is None:
            raise ReproError(f"cannot stack {type(modules[0]).__name__}: its {type(m).__name__} has momentum=None "
                             "(a cumulative average, which reads its batch count as a Python number and cannot run "
                             "under vmap); give it a momentum (e.g. 0.1) or train the members one at a time")
    shapes = {n: p.shape for n, p in modules[0].named_parameters()}
    for i, m in enumerate(modules[1:], 1):
        other = {n: p.shape for n, p in m.named_parameters()}
        if other != shapes or type(m) is not type(modules[0]):
            raise ReproError(f"cannot stack: member {i} is not the same architecture as member 0 "
                             "(parameter names or shapes differ)")


class StackedModules(nn.Module):
    """N same-architecture modules as stacked parameters (each of shape (N, *shape)).

    ``forward(*args, **kwargs)`` runs every member on the same inputs (``shared_input=True``, default)
    or member i on slice i of each tensor argument (``shared_input=False``); outputs get a leading N.
    A base module with a ``prepare_for_vmap()`` method (e.g. switching off fused attention) has it called.
    Buffers (constant ones only, e.g. positional tables) are shared from member 0.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        super().__init__()
        _check_stackable(modules)
        params, buffers = stack_module_state(list(modules))
        self.names = list(params)
        # Parameter names contain dots, which nn.Module attribute names may not.
        self.stacked = nn.ParameterDict(
            {n.replace(".", "::"): nn.Parameter(p.detach().clone()) for n, p in params.items()})
        # Each member's running statistics, stacked (N, *shape) and saved with the parameters.
        self._running_names = [n for n in buffers if _running(n)]
        self.running = nn.Module()
        for i, n in enumerate(self._running_names):
            self.running.register_buffer(f"r{i}", buffers[n].detach().clone())
        base = copy.deepcopy(modules[0])
        if hasattr(base, "prepare_for_vmap"):
            base.prepare_for_vmap()
        self.buffers_of_base = nn.Module()  # registered, so they follow .to(device)
        shared = [(n, b) for n, b in base.named_buffers() if not _running(n)]
        for i, (_n, b) in enumerate(shared):
            self.buffers_of_base.register_buffer(f"b{i}", b.detach().clone(), persistent=False)
        self._buffer_names = [n for n, _ in shared]
        self._base = [base.to("meta")]  # in a list: not a submodule, so it is never saved or moved

    def train(self, mode: bool = True) -> StackedModules:
        """Train/eval mode reaches the base module the members run through (dropout off in eval); it is not a
        submodule, so ``nn.Module.train`` alone would miss it. Lightning restores the mode after a validation by
        setting each submodule's ``training`` attribute, not through ``train``: :meth:`call` follows
        ``self.training`` as well."""
        super().train(mode)
        self.base.train(mode)
        return self

    @property
    def num_members(self) -> int:
        return next(iter(self.stacked.values())).shape[0]

    @property
    def base(self) -> nn.Module:
        return self._base[0]

    def params(self) -> dict[str, torch.Tensor]:
        """Stacked parameters by the members' own names (``head.weight`` → (N, *shape))."""
        return {n: self.stacked[n.replace(".", "::")] for n in self.names}

    def shared_buffers(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self.buffers_of_base, f"b{i}") for i, n in enumerate(self._buffer_names)}

    def running_buffers(self) -> dict[str, torch.Tensor]:
        """Every member's running statistics by the members' own names (``bn.running_mean`` → (N, *shape))."""
        return {n: getattr(self.running, f"r{i}") for i, n in enumerate(self._running_names)}

    def call(self, params: dict[str, torch.Tensor], *args, shared_input: bool = True, **kwargs):
        """The forward with given stacked parameters (for Hessian-vector products and tests)."""
        if self.base.training != self.training:  # the mode was set on the attribute, as Lightning restores it
            self.base.train(self.training)
        buffers = self.shared_buffers()

        def one(p: dict[str, torch.Tensor], running: dict[str, torch.Tensor], *a):
            # Batch norm updates ``running`` in place: each member's slice of the stacked statistics.
            return functional_call(self.base, {**p, **running, **buffers}, a, kwargs)

        in_dims = (0, 0, *([None] * len(args) if shared_input else [0] * len(args)))
        return torch.vmap(one, in_dims=in_dims, randomness="different")(params, self.running_buffers(), *args)

    def forward(self, *args, shared_input: bool = True, **kwargs):
        return self.call(self.params(), *args, shared_input=shared_input, **kwargs)

    def member(self, i: int) -> nn.Module:
        """Member ``i`` as an ordinary module (a copy holding its current weights)."""
        module = copy.deepcopy(self.base).to_empty(device=next(iter(self.stacked.values())).device)
        state = {n: p[i].detach().clone() for n, p in self.params().items()}
        state.update({n: b[i].clone() for n, b in self.running_buffers().items()})
        state.update({n: b.clone() for n, b in self.shared_buffers().items()})
        module.load_state_dict(state, strict=False)
        for n, b in self.shared_buffers().items():
            owner, _, leaf = n.rpartition(".")
            setattr(module.get_submodule(owner) if owner else module, leaf, b.clone())
        return module
