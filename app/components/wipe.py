"""A wipe (A/B slider) between two images with synced zoom and pan, without loading code
from anywhere: one self-contained HTML document (inline CSS and JS, the images as data URLs)
shown by ``st.iframe`` (the HTML string as the frame's document).

Both images sit in one container, so zoom (mouse wheel, or the + / - buttons) and pan (drag)
move them together; the slider (or a click on the picture) sets where A ends and B begins.
Pixels stay crisp (``image-rendering: pixelated``). Styled like the app: its font (taken
from the page when the browser allows), its primary colour, its button shape.
"""

from __future__ import annotations

import base64

import streamlit as st

_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font:14px "Source Sans","Source Sans Pro",-apple-system,"Segoe UI",sans-serif;
     color:#31333f}
#view{position:relative;width:__SIDE__px;height:__SIDE__px;overflow:hidden;cursor:grab;
      border:1px solid rgba(49,51,63,.2);border-radius:.5rem;background:#fff}
#stage{position:absolute;left:0;top:0;width:__SIDE__px;height:__SIDE__px;transform-origin:0 0}
#stage img{position:absolute;left:0;top:0;width:100%;height:100%;image-rendering:pixelated;
           user-select:none;-webkit-user-drag:none}
#b{clip-path:inset(0 0 0 50%)}
#line{position:absolute;top:0;bottom:0;width:2px;background:#2b6cb0;left:50%;pointer-events:none}
.row{display:flex;gap:8px;align-items:center;margin:6px 0;width:__SIDE__px}
#wipe{flex:1;accent-color:#2b6cb0}
.lab{font-weight:600}
button{font:inherit;color:#31333f;background:#fff;border:1px solid rgba(49,51,63,.2);
       border-radius:.5rem;padding:.2rem .75rem;min-height:2rem;cursor:pointer}
button:hover{border-color:#2b6cb0;color:#2b6cb0}
button:active{background:#2b6cb0;color:#fff}
</style></head><body>
<div class="row"><span class="lab" id="la">A: __A__</span><span style="flex:1"></span>
<span class="lab" id="lb">B: __B__</span></div>
<div id="view"><div id="stage"><img id="a" src="__SRC_A__" alt="A"><img id="b" src="__SRC_B__" alt="B"></div>
<div id="line"></div></div>
<div class="row"><label for="wipe">wipe</label>
<input id="wipe" type="range" min="0" max="100" value="50" aria-label="wipe position">
<span id="pos">50 %</span></div>
<div class="row"><button id="zin" aria-label="zoom in">+</button>
<button id="zout" aria-label="zoom out">−</button><button id="reset">Reset</button>
<span id="zoom">zoom 1.0x</span></div>
<script>
// the app's own font (Source Sans, served by Streamlit) where the parent page shares it
try{for(const f of parent.document.fonts)if(f.status==='loaded')document.fonts.add(f);}catch(e){}
const view=document.getElementById('view'),stage=document.getElementById('stage'),
 b=document.getElementById('b'),line=document.getElementById('line'),
 wipe=document.getElementById('wipe'),pos=document.getElementById('pos'),zl=document.getElementById('zoom');
const side=__SIDE__;let z=1,tx=0,ty=0,drag=null;
function clamp(){const lim=side*(z-1);tx=Math.min(0,Math.max(-lim,tx));ty=Math.min(0,Math.max(-lim,ty));}
function draw(){clamp();stage.style.transform=`translate(${tx}px,${ty}px) scale(${z})`;
 const w=+wipe.value;const sx=(w/100*side-tx)/z/side*100;
 b.style.clipPath=`inset(0 0 0 ${Math.min(100,Math.max(0,sx))}%)`;line.style.left=w+'%';
 pos.textContent=w+' %';zl.textContent='zoom '+z.toFixed(1)+'x';
 document.body.dataset.wipe=w;document.body.dataset.zoom=z.toFixed(2);}
function zoomAt(f,cx,cy){const nz=Math.min(16,Math.max(1,z*f));
 tx=cx-(cx-tx)*nz/z;ty=cy-(cy-ty)*nz/z;z=nz;draw();}
view.addEventListener('wheel',e=>{e.preventDefault();const r=view.getBoundingClientRect();
 zoomAt(e.deltaY<0?1.25:0.8,e.clientX-r.left,e.clientY-r.top);},{passive:false});
view.addEventListener('mousedown',e=>{drag={x:e.clientX,y:e.clientY,tx,ty,moved:false};view.style.cursor='grabbing';});
window.addEventListener('mousemove',e=>{if(!drag)return;const dx=e.clientX-drag.x,dy=e.clientY-drag.y;
 if(Math.abs(dx)+Math.abs(dy)>3)drag.moved=true;tx=drag.tx+dx;ty=drag.ty+dy;draw();});
window.addEventListener('mouseup',e=>{if(drag&&!drag.moved){const r=view.getBoundingClientRect();
 wipe.value=Math.round((e.clientX-r.left)/side*100);draw();}drag=null;view.style.cursor='grab';});
wipe.addEventListener('input',draw);
document.getElementById('zin').onclick=()=>zoomAt(1.5,side/2,side/2);
document.getElementById('zout').onclick=()=>zoomAt(1/1.5,side/2,side/2);
document.getElementById('reset').onclick=()=>{z=1;tx=0;ty=0;wipe.value=50;draw();};
draw();
</script></body></html>"""


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def wipe_html(png_a: bytes, png_b: bytes, label_a: str, label_b: str, side: int = 420) -> str:
    """The self-contained document: A on the left of the wipe line, B on the right."""
    from html import escape

    return (_TEMPLATE.replace("__SIDE__", str(int(side))).replace("__A__", escape(label_a))
            .replace("__B__", escape(label_b)).replace("__SRC_A__", _data_url(png_a))
            .replace("__SRC_B__", _data_url(png_b)))


def wipe(png_a: bytes, png_b: bytes, label_a: str, label_b: str, side: int = 420) -> None:
    """Show the wipe between two images of the same size (PNG bytes)."""
    st.iframe(wipe_html(png_a, png_b, label_a, label_b, side), height=side + 104)
