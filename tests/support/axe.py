"""axe-core (from node_modules) in a Playwright page: serious and critical WCAG violations."""
from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def violations(page) -> list[str]:
    """Needs a context with bypass_csp=True (axe is injected as an inline script)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}) {v['nodes'][0]['target']}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
