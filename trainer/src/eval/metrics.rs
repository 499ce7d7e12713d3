//! Accuracy with 95 % intervals, per task, sub-type and variant, from per-example predictions.
//! Perspective Taking's headline is the mean of its sub-types' accuracies (the paper's
//! convention: its six sub-types are balanced by design, so each counts the same).

use std::collections::BTreeMap;

use ipt_schema::Task;
use ipt_schema::audit::wilson;
use serde::{Deserialize, Serialize};

/// One example's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The example id.
    pub id: String,
    /// Its task.
    pub task: Task,
    /// Task variant.
    pub variant: String,
    /// Balanced sub-type.
    pub subtype: String,
    /// Number of options.
    pub options: usize,
    /// Index of the correct option.
    pub answer: usize,
    /// Index of the chosen option; `None` when the generated text named none.
    pub predicted: Option<usize>,
    /// The generated text, when the answer was generated rather than scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Prediction {
    /// Whether the chosen option is the correct one.
    pub fn correct(&self) -> bool {
        self.predicted == Some(self.answer)
    }
}

/// Accuracy over a group of examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Examples in the group.
    pub examples: usize,
    /// Answered correctly.
    pub correct: usize,
    /// `correct / examples`.
    pub accuracy: f64,
    /// Wilson 95 % interval of the accuracy.
    pub interval: [f64; 2],
    /// Expected accuracy of a uniform guess (mean of 1 / options).
    pub chance: f64,
}

impl Score {
    fn of<'a>(predictions: impl IntoIterator<Item = &'a Prediction>) -> Score {
        let (mut examples, mut correct, mut chance) = (0, 0, 0.0);
        for prediction in predictions {
            examples += 1;
            correct += usize::from(prediction.correct());
            chance += 1.0 / prediction.options.max(1) as f64;
        }
        let n = examples.max(1) as f64;
        Score {
            examples,
            correct,
            accuracy: correct as f64 / n,
            interval: {
                let score = wilson(correct as u64, examples as u64);
                [score.low, score.high]
            },
            chance: chance / n,
        }
    }
}

/// One task's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    /// The number reported for the task: for PET the mean of its sub-types' accuracies,
    /// otherwise the accuracy.
    pub headline: f64,
    /// All of the task's examples.
    pub overall: Score,
    /// Per sub-type.
    pub subtypes: BTreeMap<String, Score>,
    /// Per variant.
    pub variants: BTreeMap<String, Score>,
}

/// The scores of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Every example.
    pub overall: Score,
    /// Examples whose generated text named no option (counted wrong).
    pub unanswered: usize,
    /// Per task.
    pub tasks: BTreeMap<Task, TaskScore>,
}

/// Groups `predictions` by `key` and scores each group.
fn grouped(predictions: &[&Prediction], key: impl Fn(&Prediction) -> &str) -> BTreeMap<String, Score> {
    let mut groups: BTreeMap<String, Vec<&Prediction>> = BTreeMap::new();
    for &prediction in predictions {
        groups.entry(key(prediction).to_string()).or_default().push(prediction);
    }
    groups.into_iter().map(|(name, members)| (name, Score::of(members))).collect()
}

/// Scores `predictions`.
pub fn score(predictions: &[Prediction]) -> Scores {
    let mut tasks = BTreeMap::new();
    for task in Task::ALL {
        let of_task: Vec<&Prediction> = predictions.iter().filter(|p| p.task == task).collect();
        if of_task.is_empty() {
            continue;
        }
        let overall = Score::of(of_task.iter().copied());
        let subtypes = grouped(&of_task, |p| &p.subtype);
        let variants = grouped(&of_task, |p| &p.variant);
        let headline = match task {
            Task::Pet => subtypes.values().map(|s| s.accuracy).sum::<f64>() / subtypes.len() as f64,
            Task::Pt | Task::Mvc => overall.accuracy,
        };
        tasks.insert(task, TaskScore { headline, overall, subtypes, variants });
    }
    Scores {
        overall: Score::of(predictions),
        unanswered: predictions.iter().filter(|p| p.predicted.is_none()).count(),
        tasks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(task: Task, subtype: &str, answer: usize, predicted: Option<usize>) -> Prediction {
        Prediction {
            id: String::new(),
            task,
            variant: "v".into(),
            subtype: subtype.into(),
            options: 2,
            answer,
            predicted,
            text: None,
        }
    }

    #[test]
    fn pet_headline_is_the_mean_of_its_subtypes() {
        // Sub-type a: 3 of 3 right; sub-type b: 0 of 1. Overall 3/4, headline (1 + 0) / 2.
        let mut predictions = vec![prediction(Task::Pet, "a", 0, Some(0)); 3];
        predictions.push(prediction(Task::Pet, "b", 1, Some(0)));
        predictions.push(prediction(Task::Mvc, "c", 1, None));
        let scores = score(&predictions);
        let pet = &scores.tasks[&Task::Pet];
        assert_eq!((pet.overall.correct, pet.overall.examples), (3, 4));
        assert_eq!(pet.headline, 0.5);
        assert_eq!(pet.overall.chance, 0.5);
        assert_eq!(scores.tasks[&Task::Mvc].headline, 0.0);
        assert_eq!((scores.overall.correct, scores.unanswered), (3, 1));
    }
}
