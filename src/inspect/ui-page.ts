/**
 * The dashboard's single page: plain HTML, CSS and JS, no framework and nothing fetched from the
 * internet. It reads /machines.json once (the statechart SVGs) and then the /events SSE stream.
 */
export function dashboardPage(title: string, replay: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}
header{background:#1d2b3a;color:#fff;padding:10px 16px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header h1{font-size:16px;margin:0}
.bar{width:260px;height:14px;background:#41546a;border-radius:7px;overflow:hidden}
.bar>div{height:100%;background:#4cc38a;width:0}
main{display:grid;grid-template-columns:minmax(420px,1fr) minmax(420px,1fr);gap:12px;padding:12px}
section{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px #0002;overflow:auto}
h2{font-size:13px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#56606b}
table{border-collapse:collapse;width:100%;font-size:12px}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;white-space:nowrap}
tr.peer{cursor:pointer}tr.selected{background:#e6f4ff}tr.closed{color:#888}
td.state{font-family:monospace;font-size:11px;white-space:normal}
.flag{display:inline-block;padding:0 4px;border-radius:3px;font-size:10px;margin-right:2px;background:#eee}
.flag.on{background:#cfe8d6}
#pieces{width:100%;height:auto;image-rendering:pixelated;border:1px solid #ddd}
.legend span{display:inline-block;margin-right:10px}.legend i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:-1px}
.chart svg{max-width:100%;height:auto}
.recent{font-family:monospace;font-size:11px;color:#444;margin-top:4px}
.wide{grid-column:1 / -1}
button{margin-right:4px}
</style></head><body>
<header><h1>bitstate</h1>
<div><div class="bar"><div id="bar"></div></div></div>
<div>progress <b id="progress-pct">0.0%</b> (<span id="pieces-verified">0</span>/<span id="piece-count">?</span> pieces)</div>
<div>rate <b id="rate">0 B/s</b></div>
<div>peers <b id="peer-count">0</b></div>
<div>torrent <b id="torrent-state">…</b></div>
<div id="clock"></div>
${replay ? '<div><button data-c="play">▶ play</button><button data-c="pause">❚❚ pause</button><button data-c="step">step</button> speed <select id="speed"><option>0.25</option><option>1</option><option selected>4</option><option>16</option><option>64</option></select></div>' : ''}
</header>
<main>
<section class="wide"><h2>Pieces</h2><canvas id="pieces" width="800" height="24"></canvas>
<div class="legend" id="legend"></div></section>
<section class="wide"><h2>Peers</h2><table><thead><tr><th>address</th><th>client</th><th>transport</th><th>encryption</th><th>peer machine state</th><th>we → them</th><th>them → us</th><th>rate</th><th>outstanding</th><th>closed because</th></tr></thead><tbody id="peers"></tbody></table></section>
<section class="chart wide"><h2>Torrent machine</h2><div id="chart-torrent"></div><div class="recent" id="recent-torrent"></div></section>
<div id="others" style="display:contents"></div>
<section class="chart wide"><h2>Peer machine <span id="selected-peer"></span></h2><div id="chart-peer"></div><div class="recent" id="recent-peer"></div></section>
</main>
<script>
const COLORS={'.':'#dfe3e8',r:'#f5c542',h:'#7fb2f0',v:'#2f9e5b',x:'#d9480f'};
const NAMES={'.':'missing',r:'requested',h:'have (unverified)',v:'verified',x:'failed'};
let machines={};let selected=null;let last=null;
const $=(id)=>document.getElementById(id);
function fmtRate(b){const u=['B/s','KiB/s','MiB/s','GiB/s'];let i=0;while(b>=1024&&i<3){b/=1024;i++}return b.toFixed(i?1:0)+' '+u[i]}
function esc(s){return String(s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]))}
function flag(on,label){return '<span class="flag'+(on?' on':'')+'">'+label+'</span>'}
function chart(el,machine,info){
  const box=$('chart-'+el);if(!box)return;
  if(!machines[machine]){box.textContent='(no '+machine+' definition)';return}
  if(box.dataset.machine!==machine){box.innerHTML=machines[machine].svg;box.dataset.machine=machine}
  const active=new Set(info?info.active:[]);
  for(const g of box.querySelectorAll('g.state'))g.classList.toggle('active',active.has(g.dataset.state));
  const recent=info?info.recent:[];
  $('recent-'+el).innerHTML=info?('<b>'+esc(/^x:[0-9]+$/.test(info.name)?machine:info.name)+'</b> '+esc(info.status)+'<br>'+recent.slice().reverse().map(r=>(r.t/1000).toFixed(3)+'s  '+esc(r.event)+' → '+esc(r.to)).join('<br>')):'(no '+machine+' actor in this system yet)';
}
function render(v){
  last=v;
  const p=v.progress;const pct=p.pieceCount?100*p.verified/p.pieceCount:0;
  $('progress-pct').textContent=pct.toFixed(1)+'%';$('bar').style.width=pct+'%';
  $('pieces-verified').textContent=p.verified;$('piece-count').textContent=p.pieceCount;
  $('rate').textContent=fmtRate(v.rate);
  $('torrent-state').textContent=v.torrent?v.torrent.state+(v.torrent.status!=='active'?' ('+v.torrent.status+')':''):'…';
  $('clock').textContent='t = '+(v.t/1000).toFixed(1)+' s'+(v.ended?' — ended':'');
  const live=v.peers.filter(x=>!x.closed);$('peer-count').textContent=live.length;
  const c=$('pieces');const n=v.pieces.length;const cols=Math.min(n,Math.max(64,Math.ceil(Math.sqrt(n*16))));const rows=Math.max(1,Math.ceil(n/cols));
  const cell=Math.max(2,Math.floor(800/Math.max(cols,1)));c.width=cols*cell;c.height=rows*cell;const ctx=c.getContext('2d');
  const counts={};for(let i=0;i<n;i++){const s=v.pieces[i];counts[s]=(counts[s]||0)+1;ctx.fillStyle=COLORS[s]||'#000';ctx.fillRect((i%cols)*cell,Math.floor(i/cols)*cell,cell-(cell>3?1:0),cell-(cell>3?1:0))}
  $('legend').innerHTML=Object.keys(NAMES).map(k=>'<span data-piece="'+NAMES[k]+'"><i style="background:'+COLORS[k]+'"></i>'+NAMES[k]+' <b>'+(counts[k]||0)+'</b></span>').join('');
  if(selected===null||!v.charts[selected]){const first=live[0]||v.peers[0];selected=first?first.id:null}
  $('peers').innerHTML=v.peers.map(x=>'<tr class="peer'+(x.closed?' closed':'')+(x.id===selected?' selected':'')+'" data-id="'+esc(x.id)+'"><td>'+esc(x.address)+'</td><td>'+esc(x.client)+'</td><td>'+esc(x.transport)+'</td><td>'+esc(x.encryption)+'</td><td class="state">'+esc(x.state)+'</td><td>'+flag(x.amInterested,'interested')+flag(x.amChoking,'choking')+'</td><td>'+flag(x.peerInterested,'interested')+flag(x.peerChoking,'choking')+'</td><td>'+fmtRate(x.rate)+'</td><td>'+esc(x.outstanding)+'</td><td>'+esc(x.closed||'')+'</td></tr>').join('');
  const tor=v.torrent?v.charts[v.torrent.id]:null;chart('torrent','torrent',tor);
  const others=$('others');
  for(const o of v.others){const key='o'+o.id.replace(/[^A-Za-z0-9]/g,'_');if(!$('chart-'+key)){const sec=document.createElement('section');sec.className='chart';sec.innerHTML='<h2>'+esc(o.machine)+' machine</h2><div id="chart-'+key+'"></div><div class="recent" id="recent-'+key+'"></div>';others.appendChild(sec)}chart(key,o.machine,v.charts[o.id])}
  const pr=selected?v.charts[selected]:null;chart('peer','peer',pr);
  $('selected-peer').textContent=pr?pr.name:'';
}
$('peers').addEventListener('click',(e)=>{const tr=e.target.closest('tr.peer');if(tr){selected=tr.dataset.id;if(last)render(last)}});
for(const b of document.querySelectorAll('button[data-c]'))b.addEventListener('click',()=>fetch('/control',{method:'POST',body:JSON.stringify({action:b.dataset.c})}));
const sp=$('speed');if(sp)sp.addEventListener('change',()=>fetch('/control',{method:'POST',body:JSON.stringify({action:'speed',speed:Number(sp.value)})}));
fetch('/machines.json').then(r=>r.json()).then(m=>{machines=m;const es=new EventSource('/events');es.onmessage=(e)=>render(JSON.parse(e.data));});
</script></body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
