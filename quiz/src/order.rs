//! The order in which the quiz asks its questions and shows their options:
//! the table's own order, or a shuffle that a seed decides, the same on
//! every machine and every run.

use crate::questions::{Letter, QUESTIONS, Question};

/// A question as the quiz shows it: its options in the order shown, and the
/// letter the right one has in that order.
#[derive(Debug)]
pub struct Asked {
    pub question: &'static Question,
    pub options: [&'static str; 4],
    pub answer: Letter,
}

impl Asked {
    /// The question as written in the table.
    fn as_written(question: &'static Question) -> Self {
        Self {
            question,
            options: question.options,
            answer: question.answer,
        }
    }

    /// The question with its options in an order that `rng` picks.
    fn shuffled(question: &'static Question, rng: &mut SplitMix64) -> Self {
        // order[shown] is the letter, as written, of the option shown at `shown`.
        let mut order = Letter::ALL;
        rng.shuffle(&mut order);
        let answer = Letter::ALL
            .into_iter()
            .zip(order)
            .find(|&(_, written)| written == question.answer)
            // Always found: `order` holds every letter once.
            .map_or(question.answer, |(shown, _)| shown);
        Self {
            question,
            options: order.map(|written| question.options[written.index()]),
            answer,
        }
    }
}

/// Every question, in the table's order (`seed` is `None`) or shuffled by
/// `seed`: first the order of the questions, then the options of each one.
pub fn arrange(seed: Option<u64>) -> Vec<Asked> {
    let Some(seed) = seed else {
        return QUESTIONS.iter().map(Asked::as_written).collect();
    };
    let mut rng = SplitMix64(seed);
    let mut questions: Vec<&'static Question> = QUESTIONS.iter().collect();
    rng.shuffle(&mut questions);
    questions
        .into_iter()
        .map(|question| Asked::shuffled(question, &mut rng))
        .collect()
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator whose output
/// depends on the seed alone. Plenty for shuffling a quiz; no use for secrets.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`: the high bits of `next() * n`, which for an `n`
    /// this small is as good as uniform.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// Fisher-Yates: every order of `items` is equally likely.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_the_published_sequence() {
        // The reference implementation's first outputs for seed 0.
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn below_stays_below() {
        let mut rng = SplitMix64(7);
        for n in 1..30 {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
    }

    #[test]
    fn the_default_order_is_the_table() {
        let quiz = arrange(None);
        assert_eq!(quiz.len(), QUESTIONS.len());
        for (asked, question) in quiz.iter().zip(QUESTIONS) {
            assert!(std::ptr::eq(asked.question, question));
            assert_eq!(asked.options, question.options);
            assert_eq!(asked.answer, question.answer);
        }
    }

    #[test]
    fn a_shuffle_keeps_every_question_and_its_right_answer() {
        for seed in [0, 1, 42, u64::MAX] {
            let quiz = arrange(Some(seed));
            assert_eq!(quiz.len(), QUESTIONS.len());
            for question in QUESTIONS {
                let asked: Vec<_> = quiz
                    .iter()
                    .filter(|a| std::ptr::eq(a.question, question))
                    .collect();
                assert_eq!(asked.len(), 1, "asked once: {:?}", question.text);
                let asked = asked[0];
                let mut shown = asked.options;
                let mut written = question.options;
                shown.sort_unstable();
                written.sort_unstable();
                assert_eq!(shown, written, "the same options");
                assert_eq!(
                    asked.options[asked.answer.index()],
                    question.options[question.answer.index()],
                    "the right answer moves with its option"
                );
            }
        }
    }

    #[test]
    fn a_seed_always_gives_the_same_order_and_seeds_differ() {
        let texts = |seed| -> Vec<(&str, [&str; 4])> {
            arrange(Some(seed))
                .iter()
                .map(|a| (a.question.text, a.options))
                .collect()
        };
        assert_eq!(texts(3), texts(3));
        assert_ne!(texts(3), texts(4));
    }

    #[test]
    fn shuffled_answers_are_spread_over_the_letters() {
        // A shuffle that left every answer where it was would teach
        // nothing new; over many seeds, each letter is the answer sometimes.
        let mut count = [0; 4];
        for seed in 0..50 {
            for asked in arrange(Some(seed)) {
                count[asked.answer.index()] += 1;
            }
        }
        assert!(count.iter().all(|&n| n > 0), "{count:?}");
    }
}
