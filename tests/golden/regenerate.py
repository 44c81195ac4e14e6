"""Rewrites the golden plan files and their expected outputs. Run only when the plan
format version was bumped on purpose."""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import featureplat as fp  # noqa: E402
from definitions import ALL, ROWS, plan_for  # noqa: E402


def expected_outputs(plan: fp.Plan) -> list[dict]:
    out = []
    for row in ROWS:
        values = plan._program.row_dict(dict(row), True)
        out.append({k: (repr(v) if isinstance(v, float) else v) for k, v in values.items()})
    return out


def main() -> None:
    for name, make in ALL.items():
        plan = plan_for(name)
        plan.save(HERE / f"{name}.fpplan")
        (HERE / f"{name}.expected.json").write_text(
            json.dumps({"plan_hash": plan.plan_hash, "rows": expected_outputs(plan)}, indent=1, ensure_ascii=False)
            + "\n")
        print(f"wrote {name}: {plan.plan_hash}")


if __name__ == "__main__":
    main()
