//! `xdm send`: to a user, into a conversation, or to a new group.
//!
//! Everything that can be refused is refused before the first request, the media upload
//! included: ids, the group's size, an empty message, a file that cannot be read. A send is
//! never repeated on its own: when its outcome is unknown the command says so and exits with
//! its own code, so that a script can look before sending again.

use std::io::Read;
use std::path::PathBuf;

use serde_json::json;
use xdm_client::Recipient;
use xdm_core::InvalidInput;
use xdm_core::endpoints::{CreateGroup, Message};
use xdm_core::ids::{ConversationId, MediaId, UserId};
use xdm_hyper::MediaFile;

use crate::cli::SendArgs;
use crate::connect::Session;
use crate::exit::{Failure, Kind};
use crate::output::json_line;

/// Where the message goes.
#[derive(Debug)]
enum Target {
    To(UserId),
    Conversation(ConversationId),
    Group(Vec<UserId>),
}

/// What to attach.
#[derive(Debug)]
enum Attachment {
    None,
    Uploaded(MediaId),
    File(PathBuf, MediaFile),
}

/// A validated send.
#[derive(Debug)]
pub struct Plan {
    target: Target,
    text: Option<String>,
    attachment: Attachment,
}

/// A media id that stands in for a file not uploaded yet, so that a message can be checked
/// (text, attachment count) before any upload; it is never sent.
fn stand_in_media() -> MediaId {
    MediaId::try_from(1).expect("1 has fewer than 20 digits")
}

impl Plan {
    /// Validates the arguments (reading the text from standard input when it is `-`, and
    /// opening and checking the media file, off the executor's threads).
    pub async fn from_args(args: SendArgs) -> Result<Plan, Failure> {
        let target = match (args.to, args.conversation, args.group) {
            (Some(to), _, _) => Target::To(UserId::parse_as(&to, "to")?),
            (_, Some(c), _) => Target::Conversation(ConversationId::parse_as(&c, "conversation")?),
            (_, _, Some(ids)) => Target::Group(
                ids.iter()
                    .map(|id| UserId::parse_as(id.trim(), "group"))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(InvalidInput::new(
                    "recipient",
                    "no recipient given",
                    "--to USER_ID, --conversation CONV_ID or --group ID1,ID2[,...]",
                )
                .into());
            }
        };
        let text = match args.text.as_deref() {
            // Off the executor's threads, like every blocking read; a panic there is a bug,
            // passed on as if it had happened here.
            Some("-") => Some(
                tokio::task::spawn_blocking(read_stdin)
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?,
            ),
            Some(t) => Some(t.to_owned()),
            None => None,
        };
        let attachment = match (args.media, args.media_id) {
            (Some(path), _) => {
                let file = MediaFile::open(&path).await.map_err(Failure::from)?;
                if file.is_empty() {
                    return Err(InvalidInput::new(
                        "media",
                        format!("{} is empty", path.display()),
                        "a file of at least one byte",
                    )
                    .into());
                }
                Attachment::File(path, file)
            }
            (None, Some(id)) => Attachment::Uploaded(MediaId::parse_as(&id, "media_id")?),
            (None, None) => Attachment::None,
        };
        let plan = Plan {
            target,
            text,
            attachment,
        };
        // Checks the message and the group with a stand-in for media not uploaded yet, so
        // that an upload never happens for a send that would be refused.
        let message = plan.message(stand_in_media())?;
        if let Target::Group(ids) = &plan.target {
            CreateGroup::new(ids.clone(), message)?;
        }
        Ok(plan)
    }

    fn message(&self, uploaded: MediaId) -> Result<Message, InvalidInput> {
        let media = match &self.attachment {
            Attachment::None => None,
            Attachment::Uploaded(id) => Some(id.clone()),
            Attachment::File(..) => Some(uploaded),
        };
        Message::new(self.text.clone(), media)
    }

    /// Uploads, sends and prints the new event's ids.
    pub async fn run(self, session: &Session, json: bool) -> Result<(), Failure> {
        let media_id = match &self.attachment {
            Attachment::File(path, file) => {
                let uploaded = session.api.upload_media(file.clone()).await?;
                if !json {
                    eprintln!("uploaded {} as media {}", path.display(), uploaded.id);
                }
                uploaded.id
            }
            _ => stand_in_media(),
        };
        let message = self.message(media_id)?;
        let recipient = match self.target {
            Target::To(id) => Recipient::Participant(id),
            Target::Conversation(id) => Recipient::Conversation(id),
            Target::Group(ids) => Recipient::NewGroup(ids),
        };
        let sent = session
            .api
            .send(recipient, message)
            .await
            .map_err(|e| crate::exit::from_send_error(e, std::time::SystemTime::now()))?;
        if json {
            json_line(&json!({
                "dm_conversation_id": sent.conversation_id,
                "dm_event_id": sent.event_id,
            }));
        } else {
            // X's answer may leave an id out; the message was stored all the same.
            let unnamed = || "(not named by X)".to_owned();
            println!(
                "sent event {} in conversation {}",
                sent.event_id
                    .as_ref()
                    .map_or_else(unnamed, ToString::to_string),
                sent.conversation_id
                    .as_ref()
                    .map_or_else(unnamed, ToString::to_string)
            );
        }
        Ok(())
    }
}

/// The most read from standard input for a message: 40 KiB. X's longest message is 10,000
/// characters, at most 40,000 bytes of UTF-8, and the slack covers a line ending. Anything
/// longer cannot be sent, so reading on would only spend memory (`< /dev/zero` has no end).
pub const MAX_STDIN_BYTES: u64 = 40 * 1024;

/// The whole of standard input, minus the one line ending a shell or `echo` adds.
fn read_stdin() -> Result<String, Failure> {
    read_text(std::io::stdin().lock())
}

/// At most [`MAX_STDIN_BYTES`] of `input` as text, minus one final line ending.
fn read_text(input: impl Read) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    input
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Failure::new(
                Kind::Input,
                format!("could not read the text from standard input: {e}"),
            )
        })?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(Failure::new(
            Kind::Input,
            format!(
                "the text on standard input is longer than {MAX_STDIN_BYTES} bytes; X's \
                 longest message is 10,000 characters"
            ),
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| {
        Failure::new(
            Kind::Input,
            "could not read the text from standard input: it is not UTF-8",
        )
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(to: Option<&str>, group: Option<&[&str]>, text: Option<&str>) -> SendArgs {
        SendArgs {
            to: to.map(str::to_owned),
            conversation: None,
            group: group.map(|g| g.iter().map(|s| s.to_string()).collect()),
            media: None,
            media_id: None,
            text: text.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn bad_input_is_refused_with_what_is_allowed() {
        let e = Plan::from_args(args(Some("bob"), None, Some("hi")))
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("invalid to"), "{}", e.message);
        let e = Plan::from_args(args(None, Some(&["12"]), Some("hi")))
            .await
            .unwrap_err();
        assert!(e.message.contains("2 to 49"), "{}", e.message);
        let e = Plan::from_args(args(Some("12"), None, Some("  ")))
            .await
            .unwrap_err();
        assert!(e.message.contains("empty"), "{}", e.message);
        let e = Plan::from_args(args(None, None, Some("hi")))
            .await
            .unwrap_err();
        assert!(e.message.contains("--to USER_ID"), "{}", e.message);
    }

    #[test]
    fn standard_input_is_read_up_to_its_cap() {
        let most = "é".repeat(MAX_STDIN_BYTES as usize / 2);
        assert_eq!(read_text(most.as_bytes()).unwrap(), most);
        assert_eq!(read_text(&b"hi\r\n"[..]).unwrap(), "hi");
        let endless = std::io::repeat(b'a');
        let e = read_text(endless).unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(
            e.message.contains("longer than 40960 bytes"),
            "{}",
            e.message
        );
        let e = read_text(&[0xff, 0xfe][..]).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
    }

    #[tokio::test]
    async fn media_alone_is_a_message() {
        let mut a = args(Some("12"), None, None);
        a.media_id = Some("77".into());
        let plan = Plan::from_args(a).await.unwrap();
        assert_eq!(
            plan.message(MediaId::try_from(1).unwrap())
                .unwrap()
                .attachment()
                .unwrap()
                .as_str(),
            "77"
        );
    }

    #[tokio::test]
    async fn an_unreadable_media_file_is_refused_before_any_request() {
        let mut a = args(Some("12"), None, Some("hi"));
        a.media = Some(PathBuf::from("/nonexistent/x.png"));
        assert_eq!(Plan::from_args(a).await.unwrap_err().kind, Kind::Local);
        let mut a = args(Some("12"), None, Some("hi"));
        a.media = Some(PathBuf::from("notes.txt"));
        assert_eq!(Plan::from_args(a).await.unwrap_err().kind, Kind::Input);
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let mut a = args(Some("12"), None, Some("hi"));
        a.media = Some(empty);
        let e = Plan::from_args(a).await.unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("is empty"), "{}", e.message);
    }
}
