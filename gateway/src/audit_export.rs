//! Exports of the audit trail (CSV, JSON lines), streamed: read page after page (keyset
//! on `(time, id)`, `Store::events_page`), each page rendered and sent before the next is
//! read. A million events go out with one page (1,000 rows) in memory, not the whole
//! result: the server's memory stays flat during an export, whatever its size.

use crate::audit::StoredEvent;
use crate::store::{EventFilter, Store, StoreError};
use std::sync::Arc;

/// Rows read per page.
pub const PAGE: u32 = 1000;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// The first bytes of an export (the CSV header line).
pub fn header(format: ExportFormat) -> Vec<u8> {
    match format {
        ExportFormat::Csv => crate::audit::csv_record(&crate::audit::CSV_COLUMNS).into_bytes(),
        ExportFormat::Jsonl => Vec::new(),
    }
}

/// Append `events` in `format` to `out`.
pub fn render(
    events: &[StoredEvent],
    format: ExportFormat,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    for e in events {
        match format {
            ExportFormat::Csv => {
                out.extend_from_slice(crate::audit::csv_record(&e.fields()).as_bytes())
            }
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut *out, e)?;
                out.push(b'\n');
            }
        }
    }
    Ok(())
}

/// The matching events page by page, in the filter's order, honouring its offset and limit
/// (0: all).
#[derive(Debug)]
pub struct Pages {
    store: Arc<dyn Store>,
    filter: EventFilter,
    after: Option<(i64, i64)>,
    skip: u64,
    left: Option<u64>,
    /// Rows with a higher id are left out (written after the export began).
    up_to_id: Option<i64>,
    done: bool,
}

impl Pages {
    pub fn new(store: Arc<dyn Store>, filter: EventFilter) -> Self {
        let skip = u64::from(filter.offset);
        let left = (filter.limit > 0).then_some(u64::from(filter.limit));
        Self {
            store,
            filter,
            after: None,
            skip,
            left,
            up_to_id: None,
            done: false,
        }
    }

    /// Leave out events with ids above `id` (those written after the export began, such as
    /// the export's own audit event).
    pub fn up_to_id(mut self, id: i64) -> Self {
        self.up_to_id = Some(id);
        self
    }

    /// The next non-empty page, or None at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        while !self.done {
            let want = match self.left {
                Some(0) => {
                    self.done = true;
                    break;
                }
                Some(n) if self.skip == 0 => u32::try_from(n.min(u64::from(PAGE))).unwrap_or(PAGE),
                _ => PAGE,
            };
            let mut page = self
                .store
                .events_page(&self.filter, self.after, want)
                .await?;
            let Some(last) = page.last() else {
                self.done = true;
                break;
            };
            self.after = Some((last.event.time, last.id));
            if page.len() < want as usize {
                self.done = true;
            }
            if let Some(max) = self.up_to_id {
                page.retain(|e| e.id <= max);
                if page.is_empty() {
                    continue;
                }
            }
            if self.skip > 0 {
                let drop = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(page.len());
                page.drain(..drop);
                self.skip -= drop as u64;
                if page.is_empty() {
                    continue;
                }
            }
            if let Some(left) = self.left.as_mut() {
                page.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= page.len() as u64;
            }
            return Ok(Some(page));
        }
        Ok(None)
    }
}

/// The export as a stream of byte chunks (the header, then one chunk per page), for an HTTP
/// body. A read error ends the stream with that error (the client sees a cut transfer).
pub fn stream(
    pages: Pages,
    format: ExportFormat,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let start = (pages, Some(header(format)));
    futures_util::stream::unfold(start, move |(mut pages, mut first)| async move {
        let mut chunk = first.take().unwrap_or_default();
        match pages.next().await {
            Ok(Some(page)) => match render(&page, format, &mut chunk) {
                Ok(()) => Some((Ok(chunk), (pages, None))),
                Err(e) => {
                    tracing::error!(error = %e, "audit export: rendering failed");
                    None
                }
            },
            Ok(None) if !chunk.is_empty() => Some((Ok(chunk), (pages, None))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "audit export: reading failed");
                pages.done = true;
                Some((Err(std::io::Error::other(e.to_string())), (pages, None)))
            }
        }
    })
}

/// Write the whole export to `out`, page by page; returns the rows written.
pub async fn write_to(
    mut pages: Pages,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<u64> {
    out.write_all(&header(format))?;
    let mut rows = 0u64;
    let mut buf = Vec::new();
    while let Some(page) = pages.next().await? {
        buf.clear();
        render(&page, format, &mut buf)?;
        out.write_all(&buf)?;
        rows += page.len() as u64;
    }
    Ok(rows)
}
