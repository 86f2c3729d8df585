import './app.css';

document.body.append(document.createElement('main'));
