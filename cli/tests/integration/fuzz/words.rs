//! Splitting a line into words, and `eval`'s options and argument count:
//! any text splits into words or fails with a message, the words of a
//! split split the same again, and options never panic.

use super::harness::{fuzz, lock, take};
use proptest::collection::vec;
use proptest::prelude::*;
use sandcall_cli::call_args::{arity, eval_words, number};
use sandcall_cli::words::split_words;

/// Text made of the characters that matter to the splitter, or any text.
pub fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        3 => r#"[\[\](){}"' \t\n/\\,:a-z0-9é-]{0,40}"#,
        1 => r#"("""|"|'|//|\[|\]|\{|\}|\(|\)| |\n|x|\\|é){0,16}"#,
    ]
}

#[test]
fn any_text_splits_into_words_or_fails_cleanly() {
    let split = std::sync::Mutex::new(0u32);
    fuzz("split words", 20_000, line(), |text| {
        let Ok(words) = split_words(&text) else {
            return Ok(());
        };
        *lock(&split) += 1;
        for word in &words {
            prop_assert!(!word.is_empty(), "an empty word in {text:?}");
            prop_assert!(text.contains(word), "{word:?} is not from {text:?}");
        }
        // Spaces between words are where they split: joined, they split
        // the same way again.
        let joined = words.join(" ");
        let again = split_words(&joined);
        prop_assert_eq!(
            again.as_ref(),
            Ok(&words),
            "{:?} joined as {:?}",
            text,
            joined
        );
        Ok(())
    });
    assert!(take(split) > 1000, "most texts split");
}

/// An `eval` word: an option, a value for one, or an argument.
fn eval_word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "--fuel", "--deadline-ms", "--input", "--", "--fuel=", "--fuel=12",
            "--deadline-ms=0", "--input=f", "--fule", "-", "18446744073709551616",
            "0", "7", "-1", "[1, 2]", "--replace",
        ])
        .prop_map(String::from),
        2 => r"--?[a-z=-]{0,10}",
        2 => any::<String>(),
    ]
}

#[test]
fn eval_options_and_argument_counts_never_panic() {
    fuzz(
        "eval words",
        20_000,
        (vec(eval_word(), 0..6), 0..4usize, line()),
        |(words, params, text)| {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            if let Ok((texts, options)) = eval_words(&words) {
                prop_assert!(texts.iter().all(|t| words.contains(t)));
                if let Some(fuel) = options.fuel {
                    prop_assert!(words.iter().any(|w| w.contains(&fuel.to_string())));
                }
                let _ = arity("f", params, &"func()", &texts);
            }
            let _ = arity("f", params, &"func()", &[text.as_str()]);
            let _ = number(&text);
            Ok(())
        },
    );
}
