"""skelkd: action recognition from low-quality skeletons by part-level knowledge distillation.

Liu et al., "Enhancing Action Recognition from Low-Quality Skeleton Data via Part-Level
Knowledge Distillation", Signal Processing. See the README for a tour of the API.
"""

__version__ = "0.1.0"

from .errors import FormatError, SkelkdError  # noqa: E402
from .io.pack import Pack, PackWriter, Sample, open_pack, write_pack  # noqa: E402
from .layouts import PARTS, Layout, get_layout, list_layouts, register_layout  # noqa: E402

__all__ = ["FormatError", "Layout", "PARTS", "Pack", "PackWriter", "Sample", "SkelkdError",
           "__version__", "get_layout", "list_layouts", "open_pack", "register_layout",
           "write_pack"]
