//! A progress bar on standard error, hand-written: one line redrawn in place on a
//! terminal, a line per tenth when standard error is a file or a pipe (CI logs).

use std::io::{IsTerminal, Write};

pub struct Progress {
    total: u64,
    done: u64,
    stage: &'static str,
    last_drawn: Option<u64>,
    terminal: bool,
    quiet: bool,
}

const WIDTH: u64 = 30;

impl Progress {
    /// `total` is the number of rows the whole run will write.
    pub fn new(total: u64, quiet: bool) -> Progress {
        Progress {
            total: total.max(1),
            done: 0,
            stage: "",
            last_drawn: None,
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    pub fn stage(&mut self, stage: &'static str) {
        self.stage = stage;
        self.last_drawn = None;
        self.draw();
    }

    pub fn advance(&mut self, rows: u64) {
        self.done = (self.done + rows).min(self.total);
        self.draw();
    }

    pub fn finish(&mut self) {
        self.done = self.total;
        self.stage = "done";
        self.last_drawn = None;
        self.draw();
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }

    fn draw(&mut self) {
        if self.quiet {
            return;
        }
        // Per mille on a terminal; tenths in a log.
        let step = if self.terminal { 1000 } else { 10 };
        let position = self.done * step / self.total;
        if self.last_drawn == Some(position) {
            return;
        }
        self.last_drawn = Some(position);
        let filled = self.done * WIDTH / self.total;
        let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '-' }).collect();
        let percent = self.done * 100 / self.total;
        let line = format!("[{bar}] {percent:>3}%  {:<28}", self.stage);
        let mut err = std::io::stderr().lock();
        // A failed write to stderr is no reason to stop seeding.
        let _ = if self.terminal {
            write!(err, "\r{line}")
        } else {
            writeln!(err, "{}", line.trim_end())
        };
        let _ = err.flush();
    }
}
