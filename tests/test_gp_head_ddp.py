"""Two gloo ranks accumulating SNGP's Laplace precision over halves of the data equal one rank over all of it, also
when the covariance is computed twice in an epoch (mid-epoch validation, a reloaded checkpoint): the rank's buffer
keeps its own sum, so a second computation does not sum across ranks again."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from repro.models.gp_head import RandomFeatureGP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, port: int, state: dict, data: torch.Tensor, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.set_num_threads(1)
    head = RandomFeatureGP(3, 2, num_features=16)
    head.load_state_dict(state)
    head.train()
    head(data.chunk(2)[rank])
    head.eval()
    first = head.compute_covariance().clone()
    head.compute_covariance()
    if rank == 0:
        torch.save({"precision": head.precision, "first": first, "covariance": head.covariance}, out)
    dist.destroy_process_group()


def test_two_rank_precision_equals_one_rank(tmp_path) -> None:
    torch.manual_seed(0)
    head = RandomFeatureGP(3, 2, num_features=16)
    data = torch.randn(20, 3)
    state = {k: v.clone() for k, v in head.state_dict().items()}
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_rank, args=(_free_port(), state, data, out), nprocs=2, join=True)
    local = RandomFeatureGP(3, 2, num_features=16)
    local.load_state_dict(state)
    local.train()
    local(data.chunk(2)[0])
    head.train()
    head(data)
    head.eval()
    head.compute_covariance()
    got = torch.load(out)
    torch.testing.assert_close(got["first"], head.covariance, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got["covariance"], head.covariance, rtol=1e-4, atol=1e-6)  # the second time too
    torch.testing.assert_close(got["precision"], local.precision, rtol=1e-5, atol=1e-5)  # rank 0's own sum, kept
