//! `xdm media` streams the file to disk: any size, resumed after a broken connection, and
//! never a half-written target.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use xdm_emulator::{Fault, FaultKind};

use crate::common::{Emu, Ran, ok, run, send_media, shown_media_url, spawn, temp_dir, wait_exit};

const DOWNLOAD: &str = "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}";

/// Sends `bytes` as the file `name` to the demo world's second user and returns the media URL
/// `xdm event` shows for it.
fn sent_media(emu: &Emu, dir: &Path, name: &str, bytes: &[u8]) -> String {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let bob = emu.handle().users()[1].id.clone();
    let id = send_media(emu, &bob, &file, None);
    shown_media_url(emu, &id).1
}

/// Sends `picture` as `pic.png` and puts an older download where the new one goes, so that
/// a test can tell whether a failed download left it alone. Returns the directory, the
/// media URL and the target.
fn picture_over_old_download(emu: &Emu, tag: &str, picture: &[u8]) -> (PathBuf, String, PathBuf) {
    let dir = temp_dir(tag);
    let url = sent_media(emu, &dir, "pic.png", picture);
    let out = dir.join("down.png");
    std::fs::write(&out, b"the old download").unwrap();
    (dir, url, out)
}

/// `xdm media --out out url`, as a person would type it.
fn download(emu: &Emu, out: &Path, url: &str) -> Ran {
    run(emu.xdm(), &["media", "--out", out.to_str().unwrap(), url])
}

/// Checks that `dir` holds `names` and nothing else (no temporary file of a download left
/// beside them), then removes it.
fn leaves_only(dir: &Path, names: &[&str]) {
    assert_eq!(names_in(dir), names, "no temporary file left");
    let _ = std::fs::remove_dir_all(dir);
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_video_larger_than_a_whole_response_may_be_is_written_whole() {
    let emu = Emu::start();
    let dir = temp_dir("media-large");
    let video: Vec<u8> = (0..17 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let url = sent_media(&emu, &dir, "clip.mp4", &video);
    let out = dir.join("down.mp4");
    let got = ok(
        emu.xdm(),
        &["--json", "media", "--out", out.to_str().unwrap(), &url],
    );
    let line = &got.json_lines()[0];
    assert_eq!(line["bytes"], video.len());
    assert_eq!(line["content_type"], "video/mp4");
    assert!(std::fs::read(&out).unwrap() == video, "the same bytes");
    assert_eq!(
        names_in(&dir),
        ["clip.mp4", "down.mp4"],
        "no temporary file left"
    );

    let human = ok(emu.xdm(), &["media", "--out", out.to_str().unwrap(), &url]);
    assert!(
        human
            .stdout
            .contains(&format!("wrote {} bytes of video/mp4", video.len())),
        "{}",
        human.stdout
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The statuses the emulator logged for media downloads, in order.
fn download_statuses(emu: &Emu) -> Vec<Option<u16>> {
    emu.handle()
        .requests()
        .into_iter()
        .filter(|r| r.template == DOWNLOAD)
        .map(|r| r.status)
        .collect()
}

#[test]
fn a_download_cut_off_mid_way_resumes_from_the_bytes_written() {
    let emu = Emu::start();
    let picture: Vec<u8> = (0..200 * 1024).map(|i| (i % 253) as u8).collect();
    let (dir, url, out) = picture_over_old_download(&emu, "media-cut", &picture);
    emu.handle()
        .inject(Fault::once("GET", DOWNLOAD, FaultKind::CloseMidBody));
    let got = ok(
        emu.xdm(),
        &["--json", "media", "--out", out.to_str().unwrap(), &url],
    );
    assert_eq!(got.json_lines()[0]["bytes"], picture.len());
    assert!(
        std::fs::read(&out).unwrap() == picture,
        "the same bytes, none twice"
    );
    assert_eq!(
        download_statuses(&emu),
        [Some(200), Some(206)],
        "the rest asked for as a range"
    );
    assert!(got.stderr.contains("resuming (1 of 5)"), "{}", got.stderr);
    leaves_only(&dir, &["down.png", "pic.png"]);
}

#[test]
fn a_download_cut_off_every_time_keeps_the_old_file_and_no_temporary() {
    let emu = Emu::start();
    let (dir, url, out) = picture_over_old_download(&emu, "media-cut-always", &[7u8; 200 * 1024]);
    emu.handle()
        .inject(Fault::always("GET", DOWNLOAD, FaultKind::CloseMidBody));
    let ran = download(&emu, &out, &url);
    assert_eq!(ran.code, 6, "a network failure: {}", ran.stderr);
    assert_eq!(
        download_statuses(&emu),
        [
            Some(200),
            Some(206),
            Some(206),
            Some(206),
            Some(206),
            Some(206)
        ],
        "five resumes, then the failure"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"the old download");
    leaves_only(&dir, &["down.png", "pic.png"]);
}

#[test]
fn a_resume_that_is_refused_fails_as_refused_with_no_temporary() {
    let emu = Emu::start();
    let (dir, url, out) =
        picture_over_old_download(&emu, "media-resume-refused", &[7u8; 200 * 1024]);
    // The first request is cut, the second (the resume) answered 404.
    emu.handle()
        .inject(Fault::once("GET", DOWNLOAD, FaultKind::CloseMidBody));
    emu.handle()
        .inject(Fault::every("GET", DOWNLOAD, 2, FaultKind::Status(404)));
    let ran = download(&emu, &out, &url);
    assert_eq!(ran.code, 4, "refused: {}", ran.stderr);
    assert_eq!(download_statuses(&emu), [Some(200), Some(404)]);
    assert_eq!(std::fs::read(&out).unwrap(), b"the old download");
    leaves_only(&dir, &["down.png", "pic.png"]);
}

#[test]
fn a_target_that_cannot_be_replaced_is_a_local_failure_with_no_temporary_left() {
    let emu = Emu::start();
    let dir = temp_dir("media-rename");
    let url = sent_media(&emu, &dir, "pic.png", b"\x89PNG-bytes");
    // A non-empty directory cannot be renamed over.
    let out = dir.join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("inside"), b"x").unwrap();
    let ran = download(&emu, &out, &url);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("taken"), "{}", ran.stderr);
    leaves_only(&dir, &["pic.png", "taken"]);
}

#[test]
fn ctrl_c_during_a_download_removes_the_partial_file_and_keeps_the_old_one() {
    let emu = Emu::start();
    let picture = b"\x89PNG\r\n\x1a\na picture that takes its time".to_vec();
    let (dir, url, out) = picture_over_old_download(&emu, "media-interrupted", &picture);
    // The headers come at once, the body a minute later: the download sits half-way.
    emu.handle().inject(Fault::once(
        "GET",
        DOWNLOAD,
        FaultKind::DelayBody(Duration::from_secs(60)),
    ));
    let mut running = spawn(emu.xdm(), &["media", "--out", out.to_str().unwrap(), &url]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while names_in(&dir).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the temporary file never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert_eq!(wait_exit(&mut running.child, Duration::from_secs(20)), 130);
    assert_eq!(std::fs::read(&out).unwrap(), b"the old download");
    leaves_only(&dir, &["down.png", "pic.png"]);
}
