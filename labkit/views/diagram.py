"""A Mermaid diagram of an index: index -> manifests -> config and layers."""

from __future__ import annotations

from labkit.oci.index import IndexReport


def _size(size: int) -> str:
    for unit, factor in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def index_diagram(report: IndexReport) -> str:
    """Mermaid `graph LR` source; attestations point at the manifest they describe."""
    lines = ["graph LR", f'  index["image index<br/>{report.media_type.rsplit("/", 1)[-1]}"]']
    node_of = {}
    for number, entry in enumerate(report.entries, start=1):
        node = f"m{number}"
        node_of[entry.manifest.digest] = node
        if entry.kind == "image":
            lines.append(f'  index --> {node}["manifest<br/>{entry.platform}"]')
            lines.append(f'  {node} --> {node}c["config<br/>{_size(entry.config.size)}"]')
            for layer_number, layer in enumerate(entry.layers, start=1):
                lines.append(f'  {node} --> {node}l{layer_number}["layer<br/>{_size(layer.size)}"]')
        else:
            lines.append(f'  index --> {node}["attestation<br/>unknown/unknown"]')
    for number, entry in enumerate(report.entries, start=1):
        if entry.kind == "attestation" and entry.describes in node_of:
            lines.append(f"  m{number} -. describes .-> {node_of[entry.describes]}")
    return "\n".join(lines)
