//! A pool of backends behind one name, through the real binary.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::project;

#[test]
fn a_pool_spreads_takes_over_its_members_and_records_who_rendered_them() {
    let h = project();
    h.write(
        "config.toml",
        "[[backend]]\nname = \"left\"\nkind = \"animatic\"\nmax_in_flight = 1\n\n\
         [[backend]]\nname = \"right\"\nkind = \"animatic\"\nmax_in_flight = 1\n\n\
         [[backend]]\nname = \"farm\"\nkind = \"pool\"\nmembers = [\"left\", \"right\"]\n",
    );
    let listing = h.ok(&["backends", "--json"]).json();
    let farm = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "farm")
        .unwrap()
        .clone();
    assert_eq!(
        (farm["kind"].as_str(), farm["max_in_flight"].as_u64()),
        (Some("pool"), Some(2))
    );
    assert_eq!(farm["endpoint"], "members: left, right");
    h.ok(&[
        "render",
        "--all",
        "--takes",
        "2",
        "--backend",
        "farm",
        "--wait",
    ]);
    let takes = h.ok(&["takes", "--json"]).json();
    let by: Vec<&str> = takes
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rendered_by"].as_str().unwrap())
        .collect();
    assert_eq!(by.len(), 6);
    assert!(
        by.contains(&"left") && by.contains(&"right"),
        "both members worked: {by:?}"
    );
    assert!(
        takes
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["backend"] == "farm")
    );
    let check = h.ok(&["backends", "--check", "--json"]).json();
    assert!(
        check.as_array().unwrap().iter().all(|b| b["ok"] == true),
        "{check:#}"
    );
}

#[test]
fn pool_configuration_mistakes_name_the_member() {
    let h = project();
    h.write(
        "config.toml",
        "[[backend]]\nname = \"farm\"\nkind = \"pool\"\nmembers = [\"ghost\"]\n",
    );
    let err = h.fails(&["backends"], 1);
    assert!(
        err.contains("pool \"farm\": member \"ghost\" is not a [[backend]] defined in this file"),
        "{err}"
    );
    h.write(
        "config.toml",
        "[[backend]]\nname = \"a|b\"\nkind = \"animatic\"\n",
    );
    let err = h.fails(&["backends"], 1);
    assert!(err.contains("may not contain spaces, '|'"), "{err}");
}
