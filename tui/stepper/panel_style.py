"""The generator stepper panel's look: its layout in one and in two columns, and on short
terminals (the panel's ``DEFAULT_CSS``)."""

from __future__ import annotations

from typing import Final

PANEL_CSS: Final = """
    StepperPanel {
        height: 1fr;
        min-width: 40;
        border: round $primary 40%;
        border-title-color: $text-muted;
        padding: 0 1;
        &:focus-within { border: round $primary; border-title-color: $text; }
        #stepper-picker { width: 1fr; }
        #stepper-status { height: 1; }
        #stepper-body { height: 1fr; layout: vertical; }
        #stepper-code, #stepper-frame { height: auto; }
        #stepper-past { height: 1fr; }
        SourceView { margin-top: 1; }
        #stepper-outcome { height: auto; margin-top: 1; }
        #stepper-hint {
            height: auto;
            color: $text-muted;
            border-left: outer $warning 60%;
            padding-left: 1;
            margin-top: 1;
        }
        #stepper-hint.-empty { display: none; }
        .stepper-heading { height: 1; margin-top: 1; color: $accent; text-style: bold; }
        #stepper-locals { height: auto; max-height: 10; }
        #stepper-history-scroll { height: 1fr; min-height: 2; scrollbar-size-vertical: 1; }
        #stepper-send-row { height: 1; margin-top: 1; }
        #stepper-send-row Label { width: auto; color: $text-muted; }
        #stepper-send { width: 1fr; }
        #stepper-error { height: auto; color: $error; }
        #stepper-error.-empty { display: none; }
        #stepper-buttons { height: 1; }
        #stepper-buttons Button { width: auto; min-width: 0; margin-right: 1; }
        #stepper-give-up { display: none; }
        &.-running #stepper-give-up { display: block; }
        &.-wide {
            #stepper-body {
                layout: grid;
                grid-size: 2 2;
                grid-columns: 3fr 2fr;
                grid-rows: auto 1fr;
                grid-gutter: 0 2;
            }
            #stepper-frame { row-span: 2; height: 1fr; }
            #stepper-past { height: 1fr; }
        }
        &.-short {
            SourceView, #stepper-outcome, #stepper-send-row { margin-top: 0; }
            #stepper-hint { margin-top: 0; margin-bottom: 1; }
        }
    }
"""
