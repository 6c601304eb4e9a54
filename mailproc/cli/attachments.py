"""`mailproc attachments REF`: list a case's files, and save them where an agent wants them."""

from __future__ import annotations

from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.store.messages import case_attachments


def _free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or name-2, name-3 ... when taken: nothing is overwritten."""
    name = Path(name).name or "attachment"
    path, n = folder / name, 1
    while path.exists():
        n += 1
        path = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
    return path


@click.command()
@click.argument("ref")
@click.option("--save", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write the files into this folder (made if missing; nothing is overwritten).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def attachments(ctx: click.Context, ref: str, folder: Path | None, as_json: bool) -> None:
    """List the files that case REF's mail carried, and with --save, write them to a folder.

    Notifications to agents carry attachments up to [outgoing] notify_attachments_bytes;
    larger ones are fetched from here."""
    app = load_app(ctx)
    with app.db.transaction() as session:
        files = case_attachments(session, ref)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            path = _free_path(folder, file["filename"])
            path.write_bytes(file["data"])
            file["saved_as"] = str(path)
    rows = [{k: v for k, v in f.items() if k != "data"} for f in files]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"case #{ref.lstrip('#')} has no attachments")
        return
    click.echo(table([(r["date"], r["from"], r["filename"], r["content_type"], r["size"],
                       r.get("saved_as", "")) for r in rows],
                     ["date", "from", "file", "type", "bytes", "saved as"]))
