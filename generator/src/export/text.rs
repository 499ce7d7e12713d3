//! The words of an exported example, the same in every format: the instruction (a system
//! prompt, the question and its lettered options) and the supervised outputs, in the IPT
//! authors' tags (`<think>`, `<image_start>`, `<image_end>`, `<answer>`; plain text, not
//! special tokens).

use ipt_schema::{Presentation, Record};

/// The IPT authors' prompt for examples that think (in text or in an image) before they
/// answer (`VLM_THINK` in their `scripts/prepare_datasets.py`).
pub(crate) const THINK_PROMPT: &str = "Let's think step by step to answer the question. For text-based thinking, \
     enclose the process within <think> </think>, e.g. <think> thinking process here </think>. For visual thinking, \
     enclose the content within <image_start> </image_end>, e.g. <image_start> thinking image here </image_end>. \
     Finally conclude with the final answer wrapped in <answer></answer> tags, i.e.<answer> answer here </answer>.";

/// The IPT authors' prompt for answer-only examples (`ANSWER_ONLY_SYSTEM_PROMPT` in their
/// evaluation code).
pub(crate) const ANSWER_PROMPT: &str = "Answer the question directly. Wrap your answer in <answer></answer> tags, \
     i.e. <answer> answer here </answer>. Do not think or generate any images.";

/// The sentence added when the ground-truth imagination is the last input image.
pub(crate) const IMAGINATION_INPUT: &str = "The last image shows the view you would imagine to answer.";

/// The name of the datasets `presentation` makes in a BAGEL export (`answer`, `cot`, `ipt`).
pub(crate) fn dataset_part(presentation: Presentation) -> &'static str {
    match presentation {
        Presentation::Answer => "answer",
        Presentation::Reasoned => "cot",
        Presentation::Imagined => "ipt",
    }
}

/// The question and its options, one per line as `(A) text`.
pub(crate) fn question_with_options(record: &Record) -> String {
    let mut text = record.question.clone();
    for (choice, letter) in record.choices.iter().zip('A'..) {
        text.push_str(&format!("\n({letter}) {choice}"));
    }
    text
}

/// The instruction: `"\n" + prompt + "\n" + question with options` (the authors' shape),
/// with [`IMAGINATION_INPUT`] after the options when `imagination_input`.
pub(crate) fn instruction(record: &Record, presentation: Presentation, imagination_input: bool) -> String {
    let prompt = if presentation == Presentation::Answer { ANSWER_PROMPT } else { THINK_PROMPT };
    let mut text = format!("\n{prompt}\n{}", question_with_options(record));
    if imagination_input {
        text.push_str(&format!("\n{IMAGINATION_INPUT}"));
    }
    text
}

/// The supervised outputs, in order; an [`Presentation::Imagined`] example's output image goes
/// between the two.
pub(crate) fn outputs(record: &Record, presentation: Presentation) -> Vec<String> {
    let answer = format!("<answer>{}</answer>", record.answer);
    match presentation {
        Presentation::Answer => vec![answer],
        Presentation::Reasoned => vec![format!("<think>{}</think>{answer}", record.cot)],
        Presentation::Imagined => {
            vec![format!("<think>{}</think><image_start>", record.think), format!("<image_end>{answer}")]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            question: "Closer or further?".into(),
            choices: vec!["Closer".into(), "Further".into()],
            answer: "B".into(),
            cot: "1. It is behind me.".into(),
            think: "I need to imagine.".into(),
            ..Record::default()
        }
    }

    #[test]
    fn outputs_follow_the_ipt_authors_tags() {
        let record = record();
        assert_eq!(outputs(&record, Presentation::Answer), ["<answer>B</answer>"]);
        assert_eq!(outputs(&record, Presentation::Reasoned), ["<think>1. It is behind me.</think><answer>B</answer>"]);
        assert_eq!(
            outputs(&record, Presentation::Imagined),
            ["<think>I need to imagine.</think><image_start>", "<image_end><answer>B</answer>"]
        );
    }

    #[test]
    fn the_instruction_is_prompt_question_and_lettered_options() {
        let record = record();
        let text = instruction(&record, Presentation::Answer, false);
        assert_eq!(text, format!("\n{ANSWER_PROMPT}\nCloser or further?\n(A) Closer\n(B) Further"));
        assert!(
            instruction(&record, Presentation::Imagined, true).ends_with(&format!("(B) Further\n{IMAGINATION_INPUT}"))
        );
        assert!(instruction(&record, Presentation::Reasoned, false).starts_with(&format!("\n{THINK_PROMPT}\n")));
    }
}
