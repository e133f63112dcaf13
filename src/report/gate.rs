//! Renderers for the gate's verdict: a human summary, JUnit XML (one test case per check),
//! Markdown for a CI job summary, and GitHub Actions annotations.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::gate::{GateReport, GateStatus};

/// The human summary printed on stdout.
pub fn write_summary(r: &GateReport, out: &mut dyn Write) -> io::Result<()> {
    let verdict = match r.status {
        GateStatus::Passed => "PASSED",
        GateStatus::Failed => "FAILED",
        GateStatus::CannotJudge => "CANNOT JUDGE",
    };
    let files: Vec<&str> = r.diff.snapshots.iter().map(|s| s.file.as_str()).collect();
    writeln!(
        out,
        "heapscan gate {verdict} ({} snapshots: {})",
        files.len(),
        files.join(", ")
    )?;
    for c in &r.checks {
        let mark = match (c.passed, c.error) {
            (true, _) => "ok  ",
            (false, true) => "ERR ",
            (false, false) => "FAIL",
        };
        writeln!(out, "  {mark} {}: {}", c.name, c.message)?;
    }
    if !r.diff.same_process && r.diff.judgement.is_judged() {
        writeln!(out, "  note: {}", r.diff.same_process_reason)?;
    }
    Ok(())
}

/// JUnit XML: one suite, one test case per check.
pub fn junit(r: &GateReport) -> io::Result<String> {
    let mut report = Report::new("heapscan");
    let mut suite = TestSuite::new("heapscan gate");
    for c in &r.checks {
        let status = if c.passed {
            TestCaseStatus::success()
        } else if c.error {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(c.message.clone());
            s.set_type("cannot-judge");
            s
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(c.message.clone());
            s.set_type("leak");
            s
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname("heapscan.gate");
        if c.accepted {
            case.set_system_out(c.message.clone());
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().map_err(io::Error::other)
}

/// Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`).
pub fn markdown(r: &GateReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut md = String::new();
    md.push_str(match r.status {
        GateStatus::Passed => "## ✅ heapscan gate passed\n\n",
        GateStatus::Failed => "## ❌ heapscan gate failed\n\n",
        GateStatus::CannotJudge => "## ⚠️ heapscan gate could not judge the snapshots (error)\n\n",
    });
    md.push_str("| check | result | details |\n| --- | --- | --- |\n");
    for c in &r.checks {
        let result = match (c.passed, c.accepted, c.error) {
            (true, true, _) => "accepted",
            (true, false, _) => "ok",
            (false, _, true) => "**error**",
            (false, _, false) => "**failed**",
        };
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&c.name),
            result,
            cell(&c.message)
        ));
    }
    for (i, s) in r.diff.suspects.iter().enumerate() {
        md.push_str(&format!(
            "\n### {}. [{}] {}\n\n- owner: {}\n- location: {}\n- growth: {}\n- fix: {}\n",
            i + 1,
            s.kind,
            cell(&s.title),
            cell(&s.owner.description),
            s.location
                .as_ref()
                .map(|l| cell(&l.to_string()))
                .unwrap_or_else(|| "unknown".into()),
            s.counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" → "),
            cell(&s.hint)
        ));
    }
    md
}

/// Escapes a value for a GitHub workflow command (`%`, CR, LF; plus `:` and `,` in properties).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions `::error` annotations for the failed checks, pointing at source lines.
pub fn github_annotations(r: &GateReport, out: &mut dyn Write) -> io::Result<()> {
    for c in r.checks.iter().filter(|c| !c.passed) {
        let mut props = vec![format!(
            "title={}",
            escape_property(&format!("heapscan: {}", c.name))
        )];
        if let Some(file) = &c.file {
            props.insert(0, format!("file={}", escape_property(file)));
            if let Some(line) = c.line {
                props.insert(1, format!("line={line}"));
            }
        }
        writeln!(
            out,
            "::error {}::{}",
            props.join(","),
            escape_data(&c.message)
        )?;
    }
    Ok(())
}
