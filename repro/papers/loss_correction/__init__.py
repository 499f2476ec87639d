"""Loss correction for label noise (Patrini et al. 2017): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="loss_correction",
    title="Loss correction for label noise (Patrini et al. 2017)",
    citation="Giorgio Patrini, Alessandro Rozza, Aditya Krishna Menon, Richard Nock, Lizhen Qu. Making Deep Neural "
             "Networks Robust to Label Noise: a Loss Correction Approach. CVPR 2017, pp. 1944-1952. "
             "arXiv:1609.03683",
    url="https://arxiv.org/abs/1609.03683",
)
