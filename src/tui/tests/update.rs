//! The pure update function, driven by keys as a user types them.

use super::*;
use crate::engine::Command;
use crate::model::JobId;
use crate::tui::state::{Popup, View};

#[test]
fn tab_and_numbers_switch_views() {
    let mut st = state();
    st.view = View::Shots;
    key(&mut st, KeyCode::Tab);
    assert_eq!(st.view, View::Queue);
    key(&mut st, KeyCode::BackTab);
    key(&mut st, KeyCode::BackTab);
    assert_eq!(st.view, View::Script);
    ch(&mut st, '4');
    assert_eq!(st.view, View::History);
    key(&mut st, KeyCode::Tab);
    key(&mut st, KeyCode::Tab);
    assert_eq!(st.view, View::Script, "Tab wraps around");
}

#[test]
fn gg_and_g_move_to_the_ends() {
    let mut st = state();
    ch(&mut st, '3');
    assert_eq!(st.queue.jobs.len(), 4);
    ch(&mut st, 'G');
    assert_eq!(st.queue.selected, 3);
    ch(&mut st, 'g');
    assert_eq!(st.queue.selected, 3, "one g waits for the second");
    ch(&mut st, 'g');
    assert_eq!(st.queue.selected, 0);
    // In Shots, g opens the generate form and g g still goes to the first row.
    ch(&mut st, '2');
    ch(&mut st, 'G');
    ch(&mut st, 'g');
    assert!(matches!(st.popup, Some(Popup::Generate(_))));
    ch(&mut st, 'g');
    assert!(st.popup.is_none());
    assert_eq!(st.shots.selected, 0);
}

#[test]
fn generate_form_queues_takes_and_variations() {
    let mut st = state();
    ch(&mut st, '2');
    ch(&mut st, 'j');
    ch(&mut st, 'g');
    ctrl(&mut st, 'u');
    typed(&mut st, "3");
    key(&mut st, KeyCode::Tab);
    typed(&mut st, "lighting=dawn,night");
    key(&mut st, KeyCode::Tab);
    typed(&mut st, "noir");
    let fx = key(&mut st, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::Render(crate::tui::msg::RenderRequest {
            shots: vec!["2A".into()],
            takes: 3,
            vary: vec!["lighting=dawn,night".into()],
            style: Some("noir".into()),
        })]
    );
    assert!(st.popup.is_none());
    ch(&mut st, 'g');
    ctrl(&mut st, 'u');
    typed(&mut st, "0");
    assert!(key(&mut st, KeyCode::Enter).is_empty());
    assert!(
        st.status
            .as_ref()
            .is_some_and(|s| s.text.contains("1 to 100"))
    );
    assert!(
        matches!(st.popup, Some(Popup::Generate(_))),
        "the form stays open to fix"
    );
}

#[test]
fn a_field_edited_in_place_is_saved() {
    let mut st = state();
    ch(&mut st, '2');
    ch(&mut st, 'j');
    key(&mut st, KeyCode::Enter);
    for _ in 0..5 {
        ch(&mut st, 'j');
    }
    key(&mut st, KeyCode::Enter);
    // Keys type while the field is edited: q and j are text here.
    typed(&mut st, "缓慢推进 q");
    let fx = key(&mut st, KeyCode::Enter);
    let [Effect::SaveShot(shot)] = fx.as_slice() else {
        panic!("expected a saved shot, got {fx:?}");
    };
    assert_eq!(shot.code, "2A");
    assert_eq!(shot.spec.camera.movement, "缓慢推进 q");
    assert!(!st.quit);
    // Esc drops an edit.
    key(&mut st, KeyCode::Enter);
    typed(&mut st, "xyz");
    assert!(key(&mut st, KeyCode::Esc).is_empty());
    assert_eq!(st.shots.rows[1].shot.spec.camera.movement, "缓慢推进 q");
}

#[test]
fn a_camera_suggestion_is_accepted_with_one_key() {
    let mut st = state();
    ch(&mut st, '2');
    ch(&mut st, 'j');
    let before = st.shots.rows[1].shot.spec.camera.movement.clone();
    assert!(before.is_empty());
    let fx = ch(&mut st, 'A');
    let [Effect::SaveShot(shot)] = fx.as_slice() else {
        panic!("expected a saved shot, got {fx:?}");
    };
    assert!(!shot.spec.camera.movement.is_empty(), "{:?}", shot.spec);
    assert!(!shot.spec.camera.lens.is_empty(), "{:?}", shot.spec);
    assert_eq!(shot.spec.camera.size, "特写", "filled fields stay");
}

#[test]
fn history_marks_compare_reroll_and_circle() {
    let mut st = state();
    ch(&mut st, '4');
    // Newest first: the failed job, then TK01 of 2A, then 1A's two takes.
    let codes: Vec<&str> = st
        .history
        .visible
        .iter()
        .map(|i| st.history.rows[*i].code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "SC001_SH1A_TK03",
            "SC002_SH2A_TK01",
            "SC001_SH1A_TK02",
            "SC001_SH1A_TK01"
        ]
    );
    assert!(ch(&mut st, 'v').is_empty());
    assert!(
        st.status
            .as_ref()
            .is_some_and(|s| s.text.contains("mark 2 to 4"))
    );
    ch(&mut st, 'j');
    ch(&mut st, ' ');
    ch(&mut st, ' ');
    assert_eq!(
        ch(&mut st, 'v'),
        vec![Effect::Play {
            takes: vec!["SC002_SH2A_TK01".into(), "SC001_SH1A_TK02".into()],
            grid: false
        }]
    );
    assert!(matches!(
        ch(&mut st, 'V').as_slice(),
        [Effect::Play { grid: true, .. }]
    ));
    ch(&mut st, 'd');
    assert!(matches!(st.popup, Some(Popup::Diff { .. })));
    key(&mut st, KeyCode::Esc);
    assert_eq!(
        ch(&mut st, 'r'),
        vec![Effect::Reroll {
            take: "SC001_SH1A_TK01".into(),
            prompt: None
        }]
    );
    assert_eq!(
        ch(&mut st, 'c'),
        vec![Effect::Circle {
            take: "SC001_SH1A_TK01".into()
        }]
    );
    ch(&mut st, 'e');
    ctrl(&mut st, 'u');
    typed(&mut st, "雪夜");
    assert_eq!(
        key(&mut st, KeyCode::Enter),
        vec![Effect::Reroll {
            take: "SC001_SH1A_TK01".into(),
            prompt: Some("雪夜".into())
        }]
    );
    // A failed job has no take to re-roll.
    ch(&mut st, 'G');
    ch(&mut st, 'g');
    assert!(
        matches!(st.popup, Some(Popup::Generate(_))),
        "g in History generates"
    );
    ch(&mut st, 'g');
    assert_eq!(st.history.selected, 0);
    assert!(ch(&mut st, 'r').is_empty());
    assert!(
        st.status
            .as_ref()
            .is_some_and(|s| s.text.contains("no take"))
    );
}

#[test]
fn history_filter_narrows_by_fuzzy_query_and_tokens() {
    let mut st = state();
    ch(&mut st, '4');
    ch(&mut st, '/');
    typed(&mut st, "小巷");
    // The Chinese take and the failed job (its prompt is Chinese too), not the 1A takes.
    assert_eq!(st.history.visible.len(), 2);
    assert!(
        st.history
            .visible
            .iter()
            .all(|i| st.history.rows[*i].prompt.contains("小巷"))
    );
    key(&mut st, KeyCode::Esc);
    assert_eq!(st.history.visible.len(), 4);
    ch(&mut st, '/');
    typed(&mut st, "state:failed");
    let failed: Vec<&str> = st
        .history
        .visible
        .iter()
        .map(|i| st.history.rows[*i].code.as_str())
        .collect();
    assert_eq!(failed, ["SC001_SH1A_TK03"]);
    key(&mut st, KeyCode::Enter);
    assert!(st.history.input.is_none());
    assert_eq!(st.history.visible.len(), 1, "Enter keeps the filter");
    ch(&mut st, '/');
    ctrl(&mut st, 'u');
    typed(&mut st, "shot:1A neon");
    // Words match literally first: only the take lit with neon.
    let codes: Vec<&str> = st
        .history
        .visible
        .iter()
        .map(|i| st.history.rows[*i].code.as_str())
        .collect();
    assert_eq!(codes, ["SC001_SH1A_TK02"]);
    // A typo no prompt contains falls back to fuzzy matching.
    ctrl(&mut st, 'u');
    typed(&mut st, "motrbike");
    let codes: Vec<&str> = st
        .history
        .visible
        .iter()
        .map(|i| st.history.rows[*i].code.as_str())
        .collect();
    assert_eq!(codes, ["SC001_SH1A_TK02", "SC001_SH1A_TK01"]);
}

#[test]
fn queue_cancels_reorders_and_pauses() {
    let mut st = state();
    ch(&mut st, '3');
    assert_eq!(
        ch(&mut st, 'x'),
        vec![Effect::Engine(Command::Cancel { job: JobId(7) })]
    );
    ch(&mut st, 'j');
    assert_eq!(
        ch(&mut st, 'J'),
        vec![Effect::Engine(Command::Move {
            job: JobId(8),
            up: false
        })]
    );
    assert_eq!(ch(&mut st, 'P'), vec![Effect::Engine(Command::Pause)]);
    assert!(st.queue.paused);
    assert_eq!(ch(&mut st, 'P'), vec![Effect::Engine(Command::Resume)]);
    ch(&mut st, 'G');
    assert_eq!(ch(&mut st, 'R'), vec![Effect::Retry { job: 6 }]);
}

#[test]
fn quitting_with_running_jobs_asks_first() {
    let mut st = state();
    ch(&mut st, 'q');
    assert!(!st.quit);
    assert!(matches!(st.popup, Some(Popup::Confirm(_))));
    ch(&mut st, 'n');
    assert!(!st.quit && st.popup.is_none());
    ch(&mut st, 'q');
    assert_eq!(ch(&mut st, 'y'), vec![Effect::Engine(Command::Shutdown)]);
    assert!(st.quit);
}

#[test]
fn the_palette_runs_actions_by_name() {
    let mut st = state();
    ch(&mut st, '4');
    ch(&mut st, 'j');
    ch(&mut st, ':');
    typed(&mut st, "circle");
    assert_eq!(
        key(&mut st, KeyCode::Enter),
        vec![Effect::Circle {
            take: "SC002_SH2A_TK01".into()
        }]
    );
    ch(&mut st, ':');
    typed(&mut st, "view-usage");
    key(&mut st, KeyCode::Enter);
    assert_eq!(st.view, View::Usage);
}

#[test]
fn the_script_is_edited_and_saved() {
    let mut st = state();
    ch(&mut st, '1');
    assert!(!st.script.dirty());
    ch(&mut st, 'q');
    assert!(
        st.popup.is_some(),
        "q is a command in normal mode (quit asks: jobs run)"
    );
    key(&mut st, KeyCode::Esc);
    ch(&mut st, 'i');
    typed(&mut st, "夜q");
    key(&mut st, KeyCode::Esc);
    assert!(st.script.dirty());
    let fx = ctrl(&mut st, 's');
    let [Effect::SaveScript { text }] = fx.as_slice() else {
        panic!("expected a save, got {fx:?}");
    };
    assert!(text.starts_with("夜qTitle: NIGHT CHASE"), "{text}");
    // Undo in normal mode.
    ch(&mut st, 'u');
    assert!(
        st.script.text().starts_with("夜Title"),
        "{}",
        st.script.text()
    );
}

#[test]
fn a_finished_batch_and_a_failure_notify() {
    let mut st = state();
    update(
        &mut st,
        Msg::Queued {
            jobs: 1,
            text: "queued 1 take".into(),
        },
    );
    let mut j = job(8, "SC002_SH2A_TK03", "failed", 0.0);
    j.error = Some("boom".into());
    let fx = update(&mut st, Msg::Engine(Event::JobUpdated { job: Box::new(j) }));
    assert!(matches!(&fx[0], Effect::Notify { failure: true, body, .. } if body == "boom"));
    assert!(
        matches!(&fx[1], Effect::Notify { failure: false, title, .. } if title.contains("batch finished"))
    );
    assert_eq!(fx.len(), 2);
    // The same end announced again does not notify twice.
    let again = job(8, "SC002_SH2A_TK03", "failed", 0.0);
    assert!(
        update(
            &mut st,
            Msg::Engine(Event::JobUpdated {
                job: Box::new(again)
            })
        )
        .is_empty()
    );
}

#[test]
fn text_from_outside_is_sanitised_before_drawing() {
    let mut st = state();
    let mut evil = job(20, "SC002_SH2B_TK09", "failed", 0.0);
    evil.error = Some("bad\u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[2Jnews".into());
    evil.prompt = "a\u{1b}[31mred\u{9b}1m prompt".into();
    update(
        &mut st,
        Msg::Engine(Event::JobUpdated {
            job: Box::new(evil),
        }),
    );
    ch(&mut st, '3');
    st.queue.selected = st
        .queue
        .jobs
        .iter()
        .position(|j| j.id == 20)
        .expect("listed");
    let text = screen(&st, 80, 24);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'));
    assert!(text.contains("news"), "{text}");
    update(&mut st, Msg::Paste("x\u{1b}[2Jy".into()));
}

#[test]
fn the_shot_list_filters_by_code_heading_and_fields() {
    let mut st = state();
    ch(&mut st, '2');
    ch(&mut st, 'G');
    ch(&mut st, '/');
    typed(&mut st, "COURIER");
    assert_eq!(crate::tui::views::shots::visible(&st), [0]);
    assert_eq!(
        st.shots.selected, 0,
        "the selection moves onto a listed shot"
    );
    key(&mut st, KeyCode::Enter);
    ch(&mut st, 'j');
    assert_eq!(st.shots.selected, 0, "only listed shots are walked");
    ch(&mut st, '/');
    ctrl(&mut st, 'u');
    typed(&mut st, "小巷");
    assert_eq!(crate::tui::views::shots::visible(&st), [1, 2]);
    key(&mut st, KeyCode::Esc);
    assert_eq!(crate::tui::views::shots::visible(&st).len(), 3);
}
