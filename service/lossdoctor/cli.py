"""`lossdoctor serve` and `lossdoctor diagnose`: the same engine for servers and CI pipelines."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import orjson

from lossdoctor.engine import Diagnosis, diagnose
from lossdoctor.exceptions import LossDoctorError, UnreadableInput, UnsupportedFormat
from lossdoctor.ingest import formats
from lossdoctor.render import ci
from lossdoctor.render.json import diagnosis_json, response_json
from lossdoctor.render.markdown import to_markdown
from lossdoctor.text import diagnose_text, text_id

EXIT_OK, EXIT_WARNING, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2, 3


def exit_status(diagnosis: Diagnosis, fail_on: str) -> int:
    severities = {f.severity for f in diagnosis.findings}
    if "error" in severities:
        return EXIT_ERROR
    if fail_on == "warning" and "warning" in severities:
        return EXIT_WARNING
    return EXIT_OK


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UnreadableInput(f"cannot read {source}: {exc.strerror}") from None


def load_diagnosis(data: bytes, source: str, input_format: str | None) -> tuple[Diagnosis, str | None]:
    """Any supported format (the JSON payload, trainer_state.json, CSV, console logs, TensorBoard files...);
    a pasted post (`text`, or text no log format recognises) goes through the text path with its code and
    prose. Returns the diagnosis and, for posts, its content address."""
    filename = None if source == "-" else os.path.basename(source)
    fmt = input_format
    if fmt is None:
        try:
            fmt = formats.detect_format(data, filename)
        except UnsupportedFormat:
            if data.lstrip()[:1] in (b"{", b"["):
                raise  # broken JSON is bad input, not a forum post
            fmt = "text"
    if fmt == "text":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableInput("the input is neither a supported log format nor UTF-8 text") from None
        return diagnose_text(text), text_id(text)
    return diagnose(formats.parse(data, format=fmt, filename=filename)), None


def cmd_diagnose(args: argparse.Namespace) -> int:
    try:
        diagnosis, ident = load_diagnosis(_read(args.source), args.source, args.input_format)
        run = diagnosis.run
    except LossDoctorError as exc:
        print(f"lossdoctor: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    document = response_json(diagnosis_json(diagnosis, ident), run, cached=False)
    if args.format == "github":
        sys.stdout.buffer.write(ci.to_github(document, None if args.source == "-" else args.source).encode())
    elif args.format == "junit":
        sys.stdout.buffer.write(ci.to_junit(document, args.fail_on).encode())
    elif args.format == "markdown":
        sys.stdout.buffer.write(to_markdown(document).encode())
    else:
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return exit_status(diagnosis, args.fail_on)


def cmd_serve(args: argparse.Namespace) -> int:
    from lossdoctor.server import serve

    serve(host=args.host, port=args.port, workers=args.workers)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from lossdoctor.jobs.worker import main as run_worker  # torch is imported by the worker only

    return run_worker(burst=args.burst)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lossdoctor", description="Diagnose training curves.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diagnose", help="diagnose a run offline and print the diagnosis")
    d.add_argument("source", help="a file path, or - for standard input")
    d.add_argument("--input-format", choices=[*formats.FORMATS, "text"], default=None,
                   help="the input's format; `text` reads a pasted post (default: detected from its content)")
    d.add_argument("--format", choices=["json", "github", "junit", "markdown"], default="json",
                   help="output: the API's JSON, GitHub Actions annotations, JUnit XML or markdown (default: json)")
    d.add_argument("--fail-on", choices=["warning", "error"], default="error",
                   help="exit 1 on warnings too (errors always exit 2)")
    d.set_defaults(func=cmd_diagnose)
    s = sub.add_parser("serve", help="start the HTTP API under gunicorn")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=2)
    s.set_defaults(func=cmd_serve)
    w = sub.add_parser("worker", help="train reproduction jobs from the Redis queue (REDIS_URL)")
    w.add_argument("--burst", action="store_true", help="drain the queue, then exit")
    w.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
