//! The audit of a plans-only dataset (labels need no pixels): 2,000 examples per task, half
//! train and half test, plus the default benchmark split. No blind baseline (answer-letter
//! prior, options only, question only, question and options, majority answer per category)
//! may beat chance by more than 5 points on a task's test or benchmark split. (Rows per
//! variant are printed too; with 35 of them per split, one 3-sigma row is expected by chance
//! now and then, so they are not asserted.)
//! Before the Multiview Counting options were redesigned (issue 21: the count and three of
//! n-2..n+2, so the middle of the options' span was the answer) options-only scored 86 %;
//! the test puts those options back on the same examples and checks that the audit fails.

use ipt_gen::audit::examples::plan_dataset;
use ipt_gen::audit::model::Baseline;
use ipt_gen::audit::report::{ALL_VARIANTS, AuditReport, GUARD_MARGIN, GUARD_MIN_EXAMPLES};
use ipt_gen::audit::{AuditExample, audit};
use ipt_gen::dataset::config::{DatasetConfig, SplitShares};
use ipt_gen::dataset::layout::Split;
use ipt_gen::dataset::pipeline::Generator;
use ipt_gen::tasks::Task;
use ipt_scenes::Assets;

#[test]
fn no_blind_baseline_beats_chance_on_a_plans_only_dataset() {
    let assets = Assets::builtin().unwrap();
    let config = DatasetConfig {
        count: 6_000,
        seed: 21,
        resolution: 256,
        splits: SplitShares { train: 0.5, validation: 0.0, test: 0.5 },
        ..DatasetConfig::default()
    };
    let generator = Generator::new(&assets, &config).unwrap();
    let examples: Vec<AuditExample> = plan_dataset(&generator, &config).unwrap();
    let report = audit(&examples, "plans");
    println!("{}", report.table());
    for task in report.train_examples.keys() {
        let trained = report.train_examples[task];
        let tested = examples.iter().filter(|e| e.task == *task && e.split == Split::Test).count();
        assert!(trained >= 1000 && tested >= 1000, "{task}: {trained} train, {tested} test examples");
    }
    let above = guard(&report);
    assert!(above.is_empty(), "blind baselines above chance + 5 points:\n{}", above.join("\n"));

    // The same Multiview Counting examples with the options of before issue 21.
    let old: Vec<AuditExample> =
        examples.iter().filter(|e| e.task == Task::Mvc).enumerate().map(|(i, e)| with_old_options(e, i)).collect();
    let report = audit(&old, "plans");
    let above = guard(&report);
    assert!(
        above.iter().any(|line| line.starts_with(&format!("mvc all {} on test", Baseline::OptionsOnly.name()))),
        "the audit must fail on the old options:\n{}",
        report.table()
    );
}

/// The task-level rows that beat chance by more than the guard's margin, one line each.
fn guard(report: &AuditReport) -> Vec<String> {
    report
        .above(GUARD_MARGIN, GUARD_MIN_EXAMPLES)
        .iter()
        .filter(|r| r.variant == ALL_VARIANTS)
        .map(|r| {
            format!(
                "{} {} {} on {}: {:.1} % (chance {:.1} %, {} examples)",
                r.task,
                r.variant,
                r.baseline.name(),
                r.split,
                100.0 * r.score.accuracy,
                100.0 * r.chance,
                r.score.total
            )
        })
        .collect()
}

/// `example` (Multiview Counting) with the options of before issue 21: its count n and
/// three of n-2, n-1, n+1, n+2 (counts of at least 1), in increasing order; `turn` picks
/// which three.
fn with_old_options(example: &AuditExample, turn: usize) -> AuditExample {
    let blind = &example.blind;
    let count: i64 = blind.choices[blind.answer].trim_end_matches('+').parse().expect("a count");
    let mut near: Vec<i64> =
        [count - 2, count - 1, count + 1, count + 2, count + 3].into_iter().filter(|&n| n >= 1).collect();
    near.truncate(4);
    if near.len() > 3 {
        near.remove(turn % near.len());
    }
    near.push(count);
    near.sort_unstable();
    let mut old = example.clone();
    old.blind.choices = near.iter().map(i64::to_string).collect();
    old.blind.answer = near.iter().position(|&n| n == count).expect("the count is an option");
    old
}
