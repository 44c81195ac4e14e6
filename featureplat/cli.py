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
@click.option("--repo", default="feature_repo", show_default=True, type=click.Path(file_okay=False),
              help="The feature repo (its data/ is regenerated).")
@click.option("--customers", default=2_000, show_default=True, help="Customers in the generated data.")
@click.option("--threads", default=2, show_default=True, help="Threads for the join and the plan.")
@click.option("--out", "out_dir", default="out", show_default=True, help="Where the fitted plan is written.")
def demo(repo: str, customers: int, threads: int, out_dir: str) -> None:
    """The main job: generate data, apply the repo, build the training set, fit, transform, check."""
    from featureplat.demo import run

    _run(lambda: run(repo, customers=customers, threads=threads, out_dir=out_dir))


def _run(fn):
    try:
        return fn()
    except (fp.FeatureplatError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from None


@main.command("generate-data")
@click.option("--repo", default="feature_repo", show_default=True, type=click.Path(file_okay=False))
@click.option("--seed", default=7, show_default=True)
@click.option("--customers", default=2_000, show_default=True)
@click.option("--days", default=90, show_default=True)
def generate_data(repo: str, seed: int, customers: int, days: int) -> None:
    """Write the churn repo's parquet tables (deterministic for a seed) to <repo>/data."""
    from featureplat.examples.churn import generate

    for name, path in generate(f"{repo}/data", seed=seed, customers=customers, days=days).items():
        click.echo(f"{name}: {path}")


@main.command("apply")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--skip-source-validation", is_flag=True, help="Passed to Feast's apply.")
def apply_cmd(repo: str, skip_source_validation: bool) -> None:
    """Check the feature sets against the Feast definitions, run Feast's apply, record the plans."""
    from featureplat.repo import apply

    applied = _run(lambda: apply(repo, skip_source_validation=skip_source_validation))
    for name, entry in applied.index["feature_sets"].items():
        click.echo(f"feature set {name}: plan {entry['plan_hash']} ({len(entry['feature_refs'])} Feast features)")


@main.command("training-set")
@click.argument("feature_set")
@click.argument("entity_file", type=click.Path(dir_okay=False, exists=True))
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--label", multiple=True, help="Label column(s) of the entity file.")
@click.option("--method", type=click.Choice(["native", "feast"]), default="native", show_default=True)
@click.option("--threads", default=1, show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Parquet file for features + labels.")
@click.option("--plan-out", default=None, type=click.Path(dir_okay=False), help="Where to save the fitted plan.")
def training_set_cmd(feature_set, entity_file, repo, label, method, threads, out_path, plan_out) -> None:
    """Build FEATURE_SET's point-in-time training set for the entity rows in ENTITY_FILE."""
    import pyarrow.parquet as pq

    from featureplat.training import training_set

    ts = _run(lambda: training_set(repo, feature_set, entity_file, label=list(label) or None, method=method,
                                   threads=threads))
    pq.write_table(ts.to_arrow(), out_path)
    click.echo(f"{ts.num_rows} rows x {ts.features.num_columns} features -> {out_path}")
    if plan_out:
        click.echo(f"fitted plan {ts.plan.plan_hash} -> {ts.plan.save(plan_out)}")


@main.command("serve")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False))
@click.option("--plan", "plan_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The fitted plan file to serve (from training).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6570, show_default=True)
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for a remote online store.")
def serve_cmd(repo: str, plan_path: str, host: str, port: int, timeout: float) -> None:
    """Serve a fitted plan over HTTP: GET /health, POST /features (JSON)."""
    from featureplat.server import serve
    from featureplat.serving import OnlineFeatures

    serving = _run(lambda: OnlineFeatures(repo, plan_path, timeout=timeout))
    click.echo(f"serving plan {serving.plan.name} ({serving.plan.plan_hash[:16]}) on http://{host}:{port}")
    serve(serving, host=host, port=port)


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
