/* glue-rs browser client: placeholder, replaced by the real client. */
