//! Every view at 80x24 and 120x40, Chinese included. The text of the screen is the snapshot
//! (colours are the themes' tests' business); a change to a screen ships its new snapshot.

use super::*;

fn both(name: &str, st: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(st, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), screen(st, 120, 40));
}

#[test]
fn shots_view_lists_shots_with_lint_and_suggestions() {
    let mut st = state();
    st.view = super::super::state::View::Shots;
    ch(&mut st, 'j');
    both("shots_chinese_shot_selected", &st);
    key(&mut st, KeyCode::Enter);
    ch(&mut st, 'j');
    ch(&mut st, 'j');
    ch(&mut st, 'j');
    both("shots_fields_focused_on_size", &st);
}

#[test]
fn shots_field_edited_in_place_with_chinese() {
    let mut st = state();
    st.view = super::super::state::View::Shots;
    key(&mut st, KeyCode::Enter);
    key(&mut st, KeyCode::Enter);
    ctrl(&mut st, 'u');
    typed(&mut st, "孤独的快递员");
    insta::assert_snapshot!(
        "shots_editing_subject_in_chinese_80x24",
        screen(&st, 80, 24)
    );
}

#[test]
fn queue_view_shows_live_and_failed_jobs() {
    let mut st = state();
    ch(&mut st, '3');
    both("queue_running_waiting_and_failed", &st);
    ch(&mut st, 'G');
    insta::assert_snapshot!("queue_failed_job_shows_reason_80x24", screen(&st, 80, 24));
}

#[test]
fn history_view_with_filter_and_marks() {
    let mut st = state();
    ch(&mut st, '4');
    both("history_newest_first", &st);
    ch(&mut st, '/');
    typed(&mut st, "小巷");
    insta::assert_snapshot!("history_fuzzy_search_chinese_80x24", screen(&st, 80, 24));
}

#[test]
fn script_view_shows_the_fountain_text() {
    let mut st = state();
    ch(&mut st, '1');
    both("script_normal_mode", &st);
    ch(&mut st, 'i');
    typed(&mut st, "雨");
    insta::assert_snapshot!(
        "script_insert_mode_typed_chinese_80x24",
        screen(&st, 80, 24)
    );
}

#[test]
fn usage_view_charts_render_time() {
    let mut st = state();
    ch(&mut st, '5');
    both("usage_by_day_and_backend", &st);
}

#[test]
fn popups_over_views() {
    let mut st = state();
    st.view = super::super::state::View::Shots;
    ch(&mut st, '?');
    both("help_of_shots", &st);
    key(&mut st, KeyCode::Esc);
    ch(&mut st, ':');
    typed(&mut st, "circ");
    insta::assert_snapshot!("palette_filtered_80x24", screen(&st, 80, 24));
    key(&mut st, KeyCode::Esc);
    ch(&mut st, 't');
    insta::assert_snapshot!("templates_picker_80x24", screen(&st, 80, 24));
    key(&mut st, KeyCode::Esc);
    ch(&mut st, 'g');
    insta::assert_snapshot!("generate_form_80x24", screen(&st, 80, 24));
}

#[test]
fn small_terminals_still_draw() {
    let mut st = state();
    st.view = super::super::state::View::Shots;
    insta::assert_snapshot!("shots_at_60x20", screen(&st, 60, 20));
    insta::assert_snapshot!("too_small_50x15", screen(&st, 50, 15));
}
