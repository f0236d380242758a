"""Hypothesis strategies shared by the tests: small but fully general architecture specs."""

from hypothesis import strategies as st

from e3dlib.spec import ArchSpec, HeadSpec, StageSpec, StemSpec


@st.composite
def arch_specs(draw, max_stages: int = 4) -> ArchSpec:
    n = draw(st.integers(1, max_stages))
    stages = tuple(StageSpec(out_channels=draw(st.integers(1, 24)), bottleneck=draw(st.integers(1, 24)),
                             kt=draw(st.sampled_from([1, 3])), k=draw(st.sampled_from([1, 3, 5])),
                             stride=draw(st.sampled_from([1, 2])), depth=draw(st.integers(1, 3)))
                   for _ in range(n))
    return ArchSpec(
        name="random", frames=draw(st.integers(1, 6)), size=draw(st.integers(4, 40)),
        stem=StemSpec(out_channels=draw(st.integers(1, 16)), k=draw(st.sampled_from([1, 3, 5])),
                      kt=draw(st.sampled_from([1, 3])), stride=draw(st.sampled_from([1, 2])),
                      temporal_kernel=draw(st.sampled_from([0, 3, 5]))),
        stages=stages,
        head=HeadSpec(conv_channels=draw(st.integers(1, 32)), fc_channels=draw(st.integers(1, 32))),
        num_classes=draw(st.integers(1, 10)), se_ratio=draw(st.sampled_from([0.0, 0.0625, 0.25])),
        se_every=draw(st.integers(1, 3)), act=draw(st.sampled_from(["relu", "swish"])))
