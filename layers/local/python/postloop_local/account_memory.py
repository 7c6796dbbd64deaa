"""An account's memory as a file: its decisions, outcomes, bandit arms and model versions, as JSON lines.

`postloop export --account ID FILE` reads them from the deployed tables (found as `postloop report`
finds them: the stack's outputs, or the POSTLOOP_*_TABLE variables); `postloop import --account ID
FILE` writes them back, into the same stack after a redeploy or into another one.

The file: a header line `{"format": "postloop-memory", "version": 1, "account_id": ..., "counts":
{...}}`, then one line per item `{"table": "<table>", "item": {<attribute>: <DynamoDB value>}}`,
the item exactly as DynamoDB stores it (the PynamoDB models' serialisation), so nothing is lost
or reinterpreted on the way. Import reads and checks every line first (header, version, table,
the item against its table's model, the account, the counts in the header) and writes nothing
if any is wrong. Each item is written only where no item with its key exists (a conditional
put), so importing twice changes nothing, and a record the tables already hold is never
overwritten by an older copy; the summary says how many were already there and how many of
those differ from the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable

FORMAT = "postloop-memory"
VERSION = 1
# The account's memory; the locks table (leases, the pause flag) is operational state, not memory.
TABLES = ("content_metadata", "outcomes", "bandit_arms", "model_versions")
MAX_LINE = 1_000_000   # DynamoDB items are at most 400 KB


class MemoryFileError(ValueError):
    """The file cannot be imported; `problems` names every bad line (up to a limit)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportSummary:
    written: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)     # already there, the same
    differing: dict[str, int] = field(default_factory=dict)   # already there, different: the table's kept


def _models(tables) -> dict:
    return {name: getattr(tables, name) for name in TABLES}


def _key_names(model) -> tuple[str, str | None]:
    hash_key = model._hash_key_attribute().attr_name
    range_attr = model._range_key_attribute()
    return hash_key, (range_attr.attr_name if range_attr is not None else None)


def export(tables, account_id: str, out: IO[str], now: datetime | None = None) -> dict[str, int]:
    """Write the account's memory to `out`; the count of items per table."""
    rows: dict[str, list[dict]] = {}
    for name, model in _models(tables).items():
        rows[name] = [item.serialize() for item in model.query(account_id, consistent_read=True)]
    counts = {name: len(items) for name, items in rows.items()}
    now = now or datetime.now(timezone.utc)
    out.write(json.dumps({"format": FORMAT, "version": VERSION, "account_id": account_id,
                          "exported_at": now.isoformat(), "counts": counts}) + "\n")
    for name, items in rows.items():
        for item in items:
            out.write(json.dumps({"table": name, "item": item}, separators=(",", ":"), sort_keys=True) + "\n")
    return counts


def read(path: Path, account_id: str, tables) -> list[tuple[str, dict]]:
    """Every item of the file, checked; MemoryFileError naming each bad line, and nothing written."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MemoryFileError([f"{path}: file not found"]) from None
    except OSError as err:
        raise MemoryFileError([f"{path}: cannot be read ({err.strerror or type(err).__name__})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MemoryFileError([f"{path}: not UTF-8 text (byte {err.start}); not a postloop export"]) from None
    lines = text.splitlines()
    if not lines:
        raise MemoryFileError([f"{path}: empty; not a postloop export"])
    header = _json(lines[0])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise MemoryFileError([f"{path}:1: not a postloop export (the first line must be its header, "
                               f'{{"format": "{FORMAT}", ...}})'])
    if header.get("version") != VERSION:
        raise MemoryFileError([f"{path}:1: format version {header.get('version')!r}; this postloop reads "
                               f"version {VERSION}"])
    if header.get("account_id") != account_id:
        raise MemoryFileError([f"{path}:1: the file holds account {header.get('account_id')!r}, not "
                               f"{account_id!r} (records keep their account: import into the account they "
                               "came from)"])
    models = _models(tables)
    items: list[tuple[str, dict]] = []
    problems: list[str] = []
    counts = {name: 0 for name in TABLES}
    for number, line in enumerate(lines[1:], start=2):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            problems.append(f"{where}: {len(line):,} characters; no item is that large")
            continue
        row = _json(line)
        if not isinstance(row, dict) or set(row) != {"table", "item"} or not isinstance(row.get("item"), dict):
            problems.append(f'{where}: expected {{"table": ..., "item": {{...}}}}')
            continue
        name = row["table"]
        if name not in models:
            problems.append(f"{where}: unknown table {name!r}; one of {', '.join(TABLES)}")
            continue
        problem = _item_problem(models[name], row["item"], account_id)
        if problem:
            problems.append(f"{where}: {name}: {problem}")
            continue
        counts[name] += 1
        items.append((name, row["item"]))
    expected = header.get("counts")
    if not problems and expected != counts:
        problems.append(f"{path}: the header counts {expected} items but the file holds {counts}: "
                        "cut short or edited; export again")
    if problems:
        shown = problems[:20]
        if len(problems) > 20:
            shown.append(f"... and {len(problems) - 20} more bad lines")
        raise MemoryFileError(shown)
    return items


def _json(line: str):
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _item_problem(model, item: dict, account_id: str) -> str | None:
    hash_key, range_key = _key_names(model)
    for key in (hash_key, range_key):
        if key is not None and not (isinstance(item.get(key), dict) and isinstance(item[key].get("S"), str)
                                    and item[key]["S"]):
            return f"key {key!r} missing or not text"
    if item[hash_key]["S"] != account_id:
        return f"belongs to account {item[hash_key]['S']!r}, not {account_id!r}"
    unknown = sorted(set(item) - set(model.get_attributes()))
    if unknown:
        return f"unknown attribute(s) {', '.join(unknown)}"
    try:
        model.from_raw_data(item)   # every attribute decoded by the table's own model
    except Exception as err:  # PynamoDB raises several types for a malformed value; all mean the same here
        return f"not a valid item ({type(err).__name__}: {str(err)[:200]})"
    return None


def write(tables, items: Iterable[tuple[str, dict]]) -> ImportSummary:
    """Put each item where its key is free; count those already present (the same or not)."""
    from pynamodb.exceptions import PutError
    summary = ImportSummary()
    models = _models(tables)
    for name, raw in items:
        model = models[name]
        hash_key, range_key = _key_names(model)
        obj = model.from_raw_data(raw)
        try:
            obj.save(condition=getattr(model, hash_key).does_not_exist())
            summary.written[name] = summary.written.get(name, 0) + 1
        except PutError as err:
            if getattr(err, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            keys = [raw[hash_key]["S"]] + ([raw[range_key]["S"]] if range_key else [])
            held = model.get(*keys, consistent_read=True).serialize()
            bucket = summary.present if held == raw else summary.differing
            bucket[name] = bucket.get(name, 0) + 1
    return summary


# The commands (registered by cli.py): the tables found as `postloop report --account` finds them.

def _tables(args):
    from postloop.adapters.tables import bind_tables
    from postloop_local import deployed
    region = deployed.region_or_error(args.region)
    return bind_tables(deployed.table_names(args.stack, region), region), region


def run_export(args) -> int:
    import sys
    from postloop_local import deployed
    out_path = Path(args.file)
    if args.file != "-" and out_path.is_dir():
        print(f"postloop export: {args.file}: is a folder; give a file name", file=sys.stderr)
        return 2
    try:
        tables, region = _tables(args)
        if args.file == "-":
            counts = export(tables, args.account, sys.stdout)
        else:
            # Written next to the target and renamed into place: an interrupted export leaves no half file.
            partial = out_path.with_name(out_path.name + ".partial")
            with partial.open("w", encoding="utf-8") as out:
                counts = export(tables, args.account, out)
            partial.replace(out_path)
    except deployed.DeployedError as err:
        print(f"postloop export: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        print(f"postloop export: {deployed._aws_error(err, f'reading account {args.account!r}')}", file=sys.stderr)
        return 2
    if not any(counts.values()):
        print(f"postloop export: account {args.account!r} has no records in these tables (is the id right?)",
              file=sys.stderr)
        return 1
    print(f"postloop export: {args.account}: " + ", ".join(f"{n} {t}" for t, n in counts.items())
          + f" written to {args.file}", file=sys.stderr)
    return 0


def run_import(args) -> int:
    import sys
    from postloop_local import deployed
    try:
        tables, region = _tables(args)
        items = read(Path(args.file), args.account, tables)
        summary = write(tables, items)
    except MemoryFileError as err:
        print(f"postloop import: nothing written: {len(err.problems)} problem(s):", file=sys.stderr)
        for p in err.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    except deployed.DeployedError as err:
        print(f"postloop import: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        print(f"postloop import: {deployed._aws_error(err, f'writing account {args.account!r}')} "
              "(re-running the import is safe: written items are skipped)", file=sys.stderr)
        return 2
    for name in TABLES:
        print(f"{name}: {summary.written.get(name, 0)} written, {summary.present.get(name, 0)} already there"
              + (f", {summary.differing[name]} already there and different (the table's kept)"
                 if summary.differing.get(name) else ""))
    return 0


def add_parsers(sub) -> None:
    from postloop_local import deployed
    for name, what, run in (("export", "write a deployed account's memory (decisions, outcomes, bandit arms, "
                                       "model versions) to a JSON lines file", run_export),
                            ("import", "write an exported memory into a deployed account's tables "
                                       "(checked first; nothing written if a line is bad; safe to repeat)",
                             run_import)):
        p = sub.add_parser(name, help=what)
        p.add_argument("file", metavar="FILE", help="the JSON lines file" + (" (- for stdout)" if name == "export"
                                                                             else ""))
        p.add_argument("--account", required=True, metavar="ID", help="the deployed account's id (not a file)")
        p.add_argument("--stack", default=deployed.DEFAULT_STACK, help="the CloudFormation stack (default postloop)")
        p.add_argument("--region", default=None, help="the stack's region (default: AWS_REGION)")
        p.set_defaults(func=run)
