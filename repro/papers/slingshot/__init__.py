"""Grokking and the Slingshot mechanism (Power et al. 2022; Thilak et al. 2022): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="slingshot",
    title="Grokking and the Slingshot mechanism (Power et al. 2022; Thilak et al. 2022)",
    citation="Alethea Power, Yuri Burda, Harri Edwards, Igor Babuschkin, Vedant Misra. Grokking: Generalization "
             "Beyond Overfitting on Small Algorithmic Datasets. arXiv:2201.02177 (2022). Vimal Thilak, Etai "
             "Littwin, Shuangfei Zhai, Omid Saremi, Roni Paiss, Joshua Susskind. The Slingshot Mechanism: An "
             "Empirical Study of Adaptive Optimizers and the Grokking Phenomenon. arXiv:2206.04817 (2022)",
    url="https://arxiv.org/abs/2206.04817",
)
