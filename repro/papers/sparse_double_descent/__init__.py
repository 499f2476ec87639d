"""Sparse double descent (He et al. 2022) and DSD² (Quétu & Tartaglione 2024): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="sparse_double_descent",
    title="Sparse double descent (He et al. 2022) + DSD² (Quétu & Tartaglione 2024)",
    citation="Zheng He, Zeke Xie, Quanzhi Zhu, Zengchang Qin. Sparse Double Descent: Where Network Pruning "
             "Aggravates Overfitting. ICML 2022, arXiv:2206.08684. Victor Quétu, Enzo Tartaglione. DSD²: Can We "
             "Dodge Sparse Double Descent and Compress the Neural Network Worry-Free? AAAI 2024, arXiv:2303.01213",
    url="https://arxiv.org/abs/2206.08684",
)
