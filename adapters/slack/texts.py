"""Every sentence the Slack adapter itself shows users (the bot's are in
``bots.slack.texts``, the core's in ``core.texts``)."""

from __future__ import annotations

__all__ = ["FILE_REFUSED", "FILE_TOO_LARGE", "MISSING_FILES_READ", "UPLOAD_REFUSED"]

MISSING_FILES_READ = (
    "Slack did not let the bot read it: the app needs the files:read scope "
    "(add it and reinstall the app)"
)
"""Why a user's file was not passed on, when Slack answered its download with a login
page (the app lacks ``files:read``)."""

FILE_TOO_LARGE = "Slack refused it: the file is larger than Slack takes"
FILE_REFUSED = {
    "file_upload_size_restricted": (
        "Slack refused it: this workspace does not allow uploads of files this large"
    ),
    "file_type_not_allowed": "Slack refused it: this workspace does not allow this type of file",
    "file_uploads_disabled": "Slack refused it: this workspace has turned off file uploads",
    "file_uploads_except_images_disabled": (
        "Slack refused it: this workspace allows only images to be uploaded"
    ),
    "file_too_large": FILE_TOO_LARGE,
}
"""Why an agent's file was not attached (the "Could not attach" notice's reason), by the
code Slack refused it with (files.getUploadURLExternal, Errors: "The size of provided file
is too large, as the team has restricted uploads of large files", "The file type is not
allowed", "Team has disabled all file uploads", "File uploads except images are
disabled"); FILE_TOO_LARGE also for the upload URL's 413."""
UPLOAD_REFUSED = {
    "missing_scope": (
        "Slack refused it: the app may not upload files (it needs the files:write scope; "
        "add it and reinstall the app)"
    ),
    "posting_to_channel_denied": "Slack refused it: the bot may not post files in this channel",
}
"""Why an agent's file was not attached when the upload's methods were refused for the
app's rights rather than the file, by the code (the error lists of docs.slack.dev
reference/methods/files.getUploadURLExternal and files.completeUploadExternal)."""
