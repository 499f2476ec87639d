"""Two gloo ranks accumulating SNGP's Laplace precision over halves of the data equal one rank over all of it."""

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
    head.compute_covariance()
    if rank == 0:
        torch.save({"precision": head.precision, "covariance": head.covariance}, out)
    dist.destroy_process_group()


def test_two_rank_precision_equals_one_rank(tmp_path) -> None:
    torch.manual_seed(0)
    head = RandomFeatureGP(3, 2, num_features=16)
    data = torch.randn(20, 3)
    state = {k: v.clone() for k, v in head.state_dict().items()}
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_rank, args=(_free_port(), state, data, out), nprocs=2, join=True)
    head.train()
    head(data)
    head.eval()
    head.compute_covariance()
    got = torch.load(out)
    torch.testing.assert_close(got["precision"], head.precision, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got["covariance"], head.covariance, rtol=1e-4, atol=1e-6)
