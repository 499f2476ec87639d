"""LDAM-DRW (Cao et al. 2019): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="ldam_drw",
    title="LDAM-DRW (Cao et al. 2019)",
    citation="Kaidi Cao, Colin Wei, Adrien Gaidon, Nikos Arechiga, Tengyu Ma. Learning Imbalanced Datasets with "
             "Label-Distribution-Aware Margin Loss. NeurIPS 2019. arXiv:1906.07413",
    url="https://arxiv.org/abs/1906.07413",
)
