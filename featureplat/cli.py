"""The ``featureplat`` command."""
from __future__ import annotations

import json

import click

import featureplat as fp


@click.group()
@click.version_option(fp.__version__, prog_name="featureplat")
def main() -> None:
    """featureplat: one compiled feature plan for training and serving."""


@main.command()
@click.option("--rows", default=100_000, show_default=True, help="Rows of generated data.")
@click.option("--out", "out_dir", default="out", show_default=True, help="Where the plan file is written.")
def demo(rows: int, out_dir: str) -> None:
    """Define features, compile, run a batch and single rows, compare, print the plan hash."""
    from featureplat.demo import run

    run(rows=rows, out_dir=out_dir)


@main.command("ops")
@click.option("--family", default=None, help="Only ops of this family.")
def list_ops(family: str | None) -> None:
    """List every op with its documented semantics."""
    for op in fp.ops():
        if family and op["family"] != family:
            continue
        click.echo(f"{op['signature']}  [{op['family']}]")
        click.echo(f"    {op['doc']}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def inspect(path: str) -> None:
    """Show a plan file: hash, inputs, features, steps."""
    try:
        plan = fp.load_plan(path)
    except fp.PlanError as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps({
        "name": plan.name, "plan_hash": plan.plan_hash, "format_version": plan.format_version,
        "inputs": plan.inputs, "features": plan.feature_types, "steps": len(plan.steps),
    }, indent=2))


if __name__ == "__main__":
    main()
