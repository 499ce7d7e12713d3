//! The audit of a plans-only dataset (labels need no pixels): 2,000 examples per task, half
//! train and half test, plus the default benchmark split. No blind baseline (answer-letter
//! prior, options only, question only, question and options, majority answer per category)
//! may beat chance by more than 5 points on a task's test or benchmark split. (Rows per
//! variant are printed too; with 35 of them per split, one 3-sigma row is expected by chance
//! now and then, so they are not asserted.)
//! Before the Multiview Counting options were redesigned (issue 21: the count and three of
//! n-2..n+2, so the middle of the options' span was the answer) options-only scored 86 %.

use ipt_gen::audit::examples::plan_dataset;
use ipt_gen::audit::report::{ALL_VARIANTS, GUARD_MARGIN, GUARD_MIN_EXAMPLES};
use ipt_gen::audit::{AuditExample, audit};
use ipt_gen::dataset::config::{DatasetConfig, SplitShares};
use ipt_gen::dataset::layout::Split;
use ipt_gen::dataset::pipeline::Generator;
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
    let above: Vec<String> = report
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
        .collect();
    assert!(above.is_empty(), "blind baselines above chance + 5 points:\n{}", above.join("\n"));
}
