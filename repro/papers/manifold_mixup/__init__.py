"""Manifold Mixup (Verma et al. 2019): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="manifold_mixup",
    title="Manifold Mixup (Verma et al. 2019)",
    citation="Vikas Verma, Alex Lamb, Christopher Beckham, Amir Najafi, Ioannis Mitliagkas, Aaron Courville, David "
             "Lopez-Paz, Yoshua Bengio. Manifold Mixup: Better Representations by Interpolating Hidden States. "
             "ICML 2019, PMLR 97. arXiv:1806.05236",
    url="https://arxiv.org/abs/1806.05236",
)
