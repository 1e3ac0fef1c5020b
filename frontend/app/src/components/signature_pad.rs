//! A signature pad: pointer events (finger, pen or mouse) recorded as strokes
//! with points normalised to `[0, 1]` of the pad, as `pod::Signature` stores them.

use std::cell::RefCell;
use std::rc::Rc;

use doorstep_domain::pod::Signature;
use wasm_bindgen::JsCast as _;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SignaturePadProps {
    /// `None` when cleared or empty.
    pub on_change: Callback<Option<Signature>>,
}

/// Keeps a point inside the pad: a stroke that leaves it is clamped to the edge.
pub fn normalise(x: f64, y: f64, width: f64, height: f64) -> [f32; 2] {
    let nx = if width > 0.0 { (x / width).clamp(0.0, 1.0) } else { 0.0 };
    let ny = if height > 0.0 { (y / height).clamp(0.0, 1.0) } else { 0.0 };
    [nx as f32, ny as f32]
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

#[function_component(SignaturePad)]
pub fn signature_pad(props: &SignaturePadProps) -> Html {
    let canvas = use_node_ref();
    let strokes: Rc<RefCell<Vec<Vec<[f32; 2]>>>> = use_mut_ref(Vec::new);
    let drawing = use_mut_ref(|| false);

    {
        // Match the drawing buffer to the displayed size so strokes are crisp.
        let canvas = canvas.clone();
        use_effect_with((), move |_| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                c.set_width(c.client_width().max(1) as u32);
                c.set_height(c.client_height().max(1) as u32);
            }
        });
    }

    let point = |canvas: &NodeRef, e: &PointerEvent| -> Option<(HtmlCanvasElement, [f32; 2], f64, f64)> {
        let c = canvas.cast::<HtmlCanvasElement>()?;
        let rect = c.get_bounding_client_rect();
        let (x, y) = (f64::from(e.client_x()) - rect.left(), f64::from(e.client_y()) - rect.top());
        let p = normalise(x, y, rect.width(), rect.height());
        let scale_x = f64::from(c.width()) / rect.width().max(1.0);
        let scale_y = f64::from(c.height()) / rect.height().max(1.0);
        Some((c, p, x * scale_x, y * scale_y))
    };

    let onpointerdown = {
        let (canvas, strokes, drawing) = (canvas.clone(), strokes.clone(), drawing.clone());
        Callback::from(move |e: PointerEvent| {
            e.prevent_default();
            let Some((c, p, x, y)) = point(&canvas, &e) else { return };
            let _ = c.set_pointer_capture(e.pointer_id());
            *drawing.borrow_mut() = true;
            strokes.borrow_mut().push(vec![p]);
            if let Some(ctx) = context(&c) {
                ctx.set_line_width(2.5);
                ctx.set_line_cap("round");
                ctx.set_stroke_style_str("#111827");
                ctx.begin_path();
                ctx.move_to(x, y);
            }
        })
    };
    let onpointermove = {
        let (canvas, strokes, drawing) = (canvas.clone(), strokes.clone(), drawing.clone());
        Callback::from(move |e: PointerEvent| {
            if !*drawing.borrow() {
                return;
            }
            e.prevent_default();
            let Some((c, p, x, y)) = point(&canvas, &e) else { return };
            if let Some(stroke) = strokes.borrow_mut().last_mut() {
                stroke.push(p);
            }
            if let Some(ctx) = context(&c) {
                ctx.line_to(x, y);
                ctx.stroke();
            }
        })
    };
    let end = {
        let (strokes, drawing, on_change) = (strokes.clone(), drawing.clone(), props.on_change.clone());
        Callback::from(move |_: PointerEvent| {
            if std::mem::replace(&mut *drawing.borrow_mut(), false) {
                on_change.emit(Some(Signature { strokes: strokes.borrow().clone() }));
            }
        })
    };
    let clear = {
        let (canvas, strokes, on_change) = (canvas.clone(), strokes.clone(), props.on_change.clone());
        Callback::from(move |_: MouseEvent| {
            strokes.borrow_mut().clear();
            if let Some(c) = canvas.cast::<HtmlCanvasElement>()
                && let Some(ctx) = context(&c)
            {
                ctx.clear_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
            }
            on_change.emit(None);
        })
    };

    html! {
        <div class="signature">
            <canvas ref={canvas} class="signature-pad" data-testid="signature-pad" aria-label="Signature pad: sign with your finger"
                {onpointerdown} {onpointermove} onpointerup={end.clone()} onpointercancel={end} />
            <button type="button" class="link-button" onclick={clear}>{"Clear signature"}</button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn points_are_normalised_to_the_pad_and_clamped_at_its_edges() {
        assert_eq!(normalise(50.0, 25.0, 200.0, 100.0), [0.25, 0.25]);
        assert_eq!(normalise(-10.0, 250.0, 200.0, 100.0), [0.0, 1.0]);
        assert_eq!(normalise(5.0, 5.0, 0.0, 0.0), [0.0, 0.0]);
    }
}
