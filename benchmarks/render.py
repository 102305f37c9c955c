"""The README's performance section from the JSON files of `benchmarks/run.py`.

    python benchmarks/render.py benchmarks/results/cpu.json                  # print the Markdown
    python benchmarks/render.py benchmarks/results/cpu.json --readme README.md   # replace the section there

The section lies between the lines `<!-- benchmarks:start -->` and `<!-- benchmarks:end -->`.
"""

import argparse
import json
from pathlib import Path

START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
MODES = ["eager", "channels_last", "fast", "compile", "onnxruntime", "bf16", "cuda_graphs"]


def render(results: dict) -> str:
    hw, ceil = results["hardware"], results["ceilings"]
    where = hw.get("gpu") or hw["cpu"]
    commands = "; ".join(f"{section}: `{command}`" for section, command in results["commands"].items())
    lines = [f"Measured on {where} ({hw['cores']} cores, {hw['threads']} threads, torch {hw['torch']}): peak "
             f"{ceil['peak_gflops_float32']:.0f} GFLOP/s fp32 (matmul), copy bandwidth {ceil['bandwidth_gbs']:.1f} GB/s. "
             f"Commands: {commands}.", ""]  # fmt: skip
    if results.get("inference"):
        used = [m for m in MODES if any(m in r["modes"] for r in results["inference"])]
        lines += ["**Inference**, frames/s (compute roofline fraction / memory roofline fraction):", "",
                  "| net | frame | GFLOP | " + " | ".join(used) + " |", "|---|---|---|" + "---|" * len(used)]  # fmt: skip
        for r in results["inference"]:
            cells = []
            for m in used:
                v = r["modes"].get(m)
                cells.append("-" if v is None else "failed" if "error" in v else
                             f"{v['fps']:.1f} ({v['compute_roofline']:.0%} / {v['memory_roofline']:.0%})")  # fmt: skip
            lines.append(f"| {r['model']} | {r['size']} | {r['gflop_per_frame']:.2f} | " + " | ".join(cells) + " |")
        lines.append("")
    if results.get("training"):
        lines += ["**Training**, it/s (images/s; srlab / plain loop):", "",
                  "| net | batch x LR patch | plain loop | srlab, patch bank | srlab, worker loader | peak memory |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for r in results["training"]:
            p, b, w = r["plain"], r["bank"], r["loader"]
            lines.append(f"| {r['model']} | {r['batch']} x {r['lr_patch']}² | {p['it_s']:.2f} ({p['images_s']:.0f}) | "
                         f"{b['it_s']:.2f} ({b['images_s']:.0f}; {b['ratio']:.2f}x) | "
                         f"{w['it_s']:.2f} ({w['images_s']:.0f}; {w['ratio']:.2f}x) | "
                         f"{max(p['peak_memory_mb'], b['peak_memory_mb'], w['peak_memory_mb']):.0f} MB |")  # fmt: skip
        lines.append("")
    if results.get("knobs"):
        lines += ["**CPU knobs of training**, FSRCNN x3, the plain loop with one change at a time (LR pixels/s against the first row):", "",
                  "| case | batch x LR patch | threads | it/s | LR Mpixels/s |", "|---|---|---|---|---|"]  # fmt: skip
        for r in results["knobs"]:
            lines.append(f"| {r['case']} | {r['batch']} x {r['lr_patch']}² | {r['threads']} | {r['it_s']:.2f} | "
                         f"{r['lr_mpixels_s']:.2f} ({r['ratio']:.2f}x) |")  # fmt: skip
        lines.append("")
    tools = results.get("tools", {})
    if "eval" in tools:
        e = tools["eval"]
        lines.append(f"**eval.py** (bicubic, x2/x3/x4): {e['hr_megapixels']:.1f} HR megapixels in {e['wall_s']:.1f} s, "
                     f"{e['mp_per_s']:.1f} MP/s; {e['mp_per_s_after_startup']:.1f} MP/s after the "
                     f"{e['startup_s']:.1f} s start-up.")  # fmt: skip
    if "upscale" in tools:
        u = tools["upscale"]
        lines.append(f"**upscale.py** (FSRCNN x4, {u['input']} input): {u['wall_s']:.1f} s, "
                     f"{u['s_per_output_mp']:.2f} s per output megapixel after the {u['startup_s']:.1f} s start-up.")
    if "upscale_folder" in tools:
        f = tools["upscale_folder"]
        lines.append(f"**upscale.py on a folder** (FSRCNN x4, {f['images']} images of `{Path(f['folder']).name}`): "
                     f"{f['overlapped_s']:.1f} s with `io_threads=true` (decoding, compute and encoding overlapped), "
                     f"{f['sequential_s']:.1f} s one after another (the default; {f['ratio']:.2f}x), start-up included.")  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def replace_section(readme: Path, section: str) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme}: no {START} ... {END} lines to replace")
    head, rest = text.split(START, 1)
    readme.write_text(head + START + "\n" + section + END + rest.split(END, 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="JSON files of benchmarks/run.py")
    parser.add_argument("--readme", type=Path, help="replace the section of this file instead of printing")
    args = parser.parse_args()
    section = "\n".join(render(json.loads(p.read_text())) for p in args.results)
    if args.readme:
        replace_section(args.readme, section)
    else:
        print(section)


if __name__ == "__main__":
    main()
